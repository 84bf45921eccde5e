"""Business rules and use cases: plain Python, no Qt, no SQL strings."""
