"""Sign-in's HTTP interfaces: the agent's JSON endpoints and the browser's pages."""
