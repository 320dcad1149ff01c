"""Helpers the tests share (one place; no test module imports another)."""
