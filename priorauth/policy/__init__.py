"""Payer policies: the policy file parser and the checklist (met / not met / unknown)."""
