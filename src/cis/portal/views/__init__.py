"""Portal views, one module per domain; each parses input, calls a service or selector, renders."""
