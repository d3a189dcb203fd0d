"""Format Comparison (/formats): state, cached figures, widgets, labels."""
