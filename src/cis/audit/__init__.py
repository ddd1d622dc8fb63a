"""The tamper-evident audit trail: record() inside every service, verify() from the CLI."""
