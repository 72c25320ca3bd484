"""Operator-assisted events: scheduled conferences dialed out at their start (issue 21)."""
