"""Benchmarks; the numbers they print are recorded in BENCHMARKS.md."""
