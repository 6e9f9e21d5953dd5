"""Randomized runs checked against the broker's own books (see checker.py)."""
