"""Benchmarks that print figures as ratios to a trivial Django view measured in the same run."""
