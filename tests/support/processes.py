"""The services as real OS processes: ``bench.processes`` (the benchmarks start them the
same way), here under the tests' name."""

from bench.processes import REPO, ServiceProcess

__all__ = ["REPO", "ServiceProcess"]
