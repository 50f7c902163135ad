"""The daemon: the scheduler (cron slots, leases, catch-up), its jobs (which call domain functions, never
``commands/``), cron parsing and the heartbeat."""
