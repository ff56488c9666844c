"""Benchmarks (results in bench/RESULTS.md); run as scripts, e.g. `python bench/landing.py`."""

import pathlib

RESULTS = pathlib.Path(__file__).with_name("RESULTS.md")


def publish(text: str, write: bool = True) -> None:
    """Print a benchmark's section and, unless ``write`` is off (``--no-write``), append it to bench/RESULTS.md."""
    print(text)
    if write:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write(text + "\n")
