"""clgrad.nn: arrives with its issue (see the issue tracker)."""
