"""carelog benchmarks: `python -m bench [--quick] [--events N]` (see bench/README.md)."""
