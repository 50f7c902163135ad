"""Deploys and the ledger of what was deployed: recording, listing, the commits a deploy shipped."""
