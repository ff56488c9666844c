"""Benchmarks (results in bench/RESULTS.md); run as scripts, e.g. `python bench/landing.py`."""
