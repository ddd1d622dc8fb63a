"""Smartcards and what is done to them, shared by the workstation agent and the server's console.

One card interface (`base.Card`) with a virtual card and PKCS#11 tokens behind it, card SPECs,
CSRs signed inside the card, and the flows that change a card and tell CIS in a safe order
(`flows`). The agent runs the flows against CIS over HTTPS; the server's console
(`cis.smartcards.provisioning`) runs the issue flow in-process against the services, so there
is one issue flow, not two. This package imports neither the server (`cis`), the agent
(`cis_agent`) nor Django; what both sides sign or MAC byte for byte is in `cis_wire`
(import-linter contracts in pyproject.toml keep it so).
"""
