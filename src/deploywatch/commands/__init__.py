"""The commands: one module per command (parse → call a domain → render → exit code), and what they share."""
