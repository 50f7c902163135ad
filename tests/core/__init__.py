"""The ground floor: durations, redaction, rendering, text and glob matching."""
