"""Loading the configuration: errors that name the key and line, and the threshold grammar."""
