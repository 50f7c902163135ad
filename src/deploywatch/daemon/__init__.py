"""The daemon: the scheduler, its jobs, cron arithmetic and the heartbeat.

The scheduler keeps cron slots, leases and catch-up, and runs each job through its workers; the jobs call domain
functions, never ``commands/``."""
