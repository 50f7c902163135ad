"""``deploywatch init``: what the repository deploys, found in its build files, and the config written from it."""
