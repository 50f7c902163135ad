"""The daemon: the scheduler, restarts and ``deploywatch serve`` end to end."""
