"""Guarded deploys: the preflight checks before a deploy, and the ledger of what was deployed, when, by whom."""
