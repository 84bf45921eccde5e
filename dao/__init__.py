"""Data access: peewee models, the connection, migrations and queries."""
