"""Thin Qt models: a frozen row type per table, built from the domain object, and column constants."""
