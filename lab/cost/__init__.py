"""Smaller, not faster (/cost): state, cached work, words and formulas."""
