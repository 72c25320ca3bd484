"""`make bench`: runs every benchmark and prints one table (figure, target, met / short)."""

from __future__ import annotations

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", help="run one benchmark by name")
    parser.parse_args()
    print("no benchmarks yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
