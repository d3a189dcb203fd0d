"""PTQ studio (/model): state, cached model work, labels."""
