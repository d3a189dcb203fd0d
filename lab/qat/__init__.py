"""Quantization-aware training (/qat): state, cached studies, labels."""
