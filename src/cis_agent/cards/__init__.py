"""Smartcards as the agent sees them: one interface, a virtual card and PKCS#11 tokens."""
