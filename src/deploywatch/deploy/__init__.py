"""Guarded deploys: the preflight checks a service must pass before it is deployed."""
