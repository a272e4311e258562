"""``python -m engine bench``: the model, parameter-count and geo-pipeline benchmarks behind docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, EngineFactory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "suite",
        choices=["model", "params", "geo"],
        help="model: per-stage latency of a preset; params: parameter counts; geo: the geo pipeline",
    )
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of that benchmark (see its --help)")


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    if args.suite == "geo":
        from ..geo.bench import main as geo_bench

        geo_bench(args.options)
        return EXIT_OK
    from ..bench import main as model_bench

    return model_bench([args.suite, *args.options])
