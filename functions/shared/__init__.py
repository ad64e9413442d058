"""Shared by the three functions: settings, AWS clients, signing keys, errors, observability."""
