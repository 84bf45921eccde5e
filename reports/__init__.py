"""Outputs (Excel, CSV, PDF) fed plain data; no business rules and no Qt."""
