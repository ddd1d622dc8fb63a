"""Scheduled, idempotent jobs that a timer runs on any number of machines: `cis jobs run`."""
