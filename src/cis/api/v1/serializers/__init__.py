"""What the v1 API reads and writes, one module per domain, documented for the OpenAPI schema."""
