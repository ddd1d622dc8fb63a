"""THE policy: the only place that decides who may do what to whom."""
