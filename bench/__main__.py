"""`python -m bench` (make bench): run every registered benchmark and print BENCH lines."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import harness

SKIP = {"harness", "settings", "urls", "__main__", "served", "served_data", "served_figures"}


def discover() -> list[harness.Benchmark]:
    """Import every benchmark module in this package; each registers itself."""
    package = sys.modules[__package__ or "bench"]
    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in SKIP:
            importlib.import_module(f"{package.__name__}.{info.name}")
    return list(harness.REGISTRY)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per figure")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each round")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes measuring together (default: one per core)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    found = discover()
    if args.list:
        for b in found:
            print(f"{b.name}\t{b.unit}\tgoal {b.goal:g}\t({b.module})")
        return 0
    selected = [b for b in found if not args.only or b.name in args.only]
    if not selected:
        print("no benchmark matches", file=sys.stderr)
        return 2
    harness.run(selected, rounds=args.rounds, seconds=args.seconds, workers=args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
