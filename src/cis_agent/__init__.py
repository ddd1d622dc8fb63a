"""The workstation agent: drives a smartcard and talks to the CIS API; never imports Django."""
