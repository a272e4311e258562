"""``python -m engine finetune DATASET... --base MODEL -o OUT``: a model taught from the user's own layers."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, ProgressBar, run_stoppable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("datasets", nargs="+", metavar="DATASET", help="training-set folder(s) from 'engine dataset'")
    parser.add_argument("--base", default="demo", help="model to start from: name or folder (default: demo)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="new model folder to write")
    parser.add_argument(
        "--minutes", type=float, default=10.0, help="time budget, the run planned to fit it (default 10)"
    )
    parser.add_argument("--steps", type=int, help="number of steps (with --minutes: at most this many)")
    parser.add_argument("--no-time-limit", action="store_true", help="ignore --minutes: run --steps (default 300)")
    parser.add_argument(
        "--parts", nargs="+", help="parts to train (default: the mask side, and the language model for new classes)"
    )
    parser.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (default 3e-4)")
    parser.add_argument("--batch-size", type=int, default=4, help="samples per step (default 4)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..train.finetune import finetune

    progress = None if args.quiet else ProgressBar(unit="step")

    def on_step(step: int, total: int, loss: float) -> None:
        if progress is not None:
            progress(step, total)

    try:
        report = run_stoppable(
            lambda should_stop: finetune(
                args.datasets,
                args.base,
                args.output,
                minutes=None if args.no_time_limit else args.minutes,
                steps=args.steps,
                parts=args.parts,
                lr=args.lr,
                batch_size=args.batch_size,
                seed=args.seed,
                on_step=on_step,
                should_stop=should_stop,
            )
        )
    finally:
        if progress is not None:
            progress.close()
    print(
        f"{report.folder}: fine-tuned from {report.base} on {', '.join(report.classes)} in {report.steps} steps "
        f"({report.seconds:.0f} s); loss {report.first_loss:.3f} -> {report.last_loss:.3f}"
    )
    return EXIT_OK
