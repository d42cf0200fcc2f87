"""clgrad.autograd: arrives with its issue (see the issue tracker)."""
