"""The ground floor: errors, status, durations, units, redaction, subprocesses, findings and rendering.

Nothing here imports anything else of ours.
"""
