"""The Registration Authority's workflow: requests, approvals, escalation and their notices."""
