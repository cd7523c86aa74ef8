"""RealtorOS benchmarks: ``python -m bench [--quick|--full] [--only ...]`` (docs/benchmarks.md)."""
