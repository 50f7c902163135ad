"""The report: delivery (DORA), drift, data and alert figures of a time window, each traceable to git and the store."""
