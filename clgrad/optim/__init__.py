"""clgrad.optim: arrives with its issue (see the issue tracker)."""
