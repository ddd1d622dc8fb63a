"""The wire protocol between CIS and its workstation agent: what a card signs or MACs, byte for
byte, how a signature over it is checked, and the error codes of CIS's JSON answers that the
agent acts on.

Both the server (`cis`) and the agent (`cis_agent`) import this package and neither imports the
other, so the two sides always agree. It imports neither of them, nor Django (import-linter
contracts in pyproject.toml keep it so).
"""
