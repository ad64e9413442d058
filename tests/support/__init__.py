"""Helpers shared by every test area and the benchmarks (importable as `tests.support`)."""
