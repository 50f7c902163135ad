"""Tests of the unified health check's collectors."""
