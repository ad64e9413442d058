"""Faults the sandbox can inject: a Region taken out and brought back."""
