"""Bit Inspector (/bits): state, cached inspections, widgets, worked explanations (display)."""
