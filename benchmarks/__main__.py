"""`make bench`: runs every benchmark and prints one table (figure, target, met / short).

BENCH_SCALE=small runs everything quickly for a look; --only NAME runs one benchmark.
Never part of `make test`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from benchmarks import harness

BENCHMARKS: dict[str, str] = {
    "webhooks": "benchmarks.webhooks",
    "pipeline": "benchmarks.pipeline",
    "history": "benchmarks.history",
    "faults": "benchmarks.faults",
}


def _runner(module: str) -> Callable[[harness.Results], None]:
    import importlib

    runner: Callable[[harness.Results], None] = importlib.import_module(module).run
    return runner


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    args = parser.parse_args()
    chosen = [args.only] if args.only else list(BENCHMARKS)
    results = harness.Results()
    started = time.monotonic()
    for name in chosen:
        print(f"\n== {name} (scale {harness.scale()}) ==", flush=True)
        _runner(BENCHMARKS[name])(results)
    print(f"\nAll benchmarks took {time.monotonic() - started:.0f} s. Results:\n")
    print(results.table())
    return 0 if results.all_met else 1


if __name__ == "__main__":
    sys.exit(main())
