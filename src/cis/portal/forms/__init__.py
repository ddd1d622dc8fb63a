"""Portal forms: they parse what people type; the services decide what is allowed."""
