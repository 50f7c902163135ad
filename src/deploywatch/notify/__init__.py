"""Notifications: the router, the outbox and its delivery, and the sinks.

The sinks: Slack, GitHub issues, Alertmanager, webhooks."""
