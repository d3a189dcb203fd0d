"""Tensor Lab (/tensor): state, cached quantlib work, the scheme picker."""
