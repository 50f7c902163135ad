"""``deploywatch serve`` and ``deploywatch schedule export``: the scheduler, the daemon and its HTTP API."""
