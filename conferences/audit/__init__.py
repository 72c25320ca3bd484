"""The audit trail: what every user and sweep did, written once per action."""
