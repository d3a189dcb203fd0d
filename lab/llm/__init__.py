"""The language model page (/llm): state, cached computations, display helpers."""
