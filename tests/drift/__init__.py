"""Drift against git: the engine, history walk, skew, prefetch and the deployed sources."""
