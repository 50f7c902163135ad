"""The ground floor: errors, status, durations, units, redaction, subprocesses, findings, rendering, cron slots.

Nothing here imports anything else of ours.
"""
