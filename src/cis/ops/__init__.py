"""Running CIS for real: readiness, metrics, and what operators scrape and probe."""
