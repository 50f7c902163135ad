"""Remediation: drifted services redeployed through the guarded deploy, and rules, under guardrails."""
