"""``python -m engine eval``: score a model, or a file of its predictions, on a grounded dataset."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .common import (
    EXIT_OK,
    EngineFactory,
    ProgressBar,
    add_model_arguments,
    add_token_argument,
    call_engine,
    load_checked,
)

if TYPE_CHECKING:
    import numpy as np

    from ..types import Reply


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..eval.cli import add_arguments as add_dataset_arguments

    add_dataset_arguments(parser)
    add_model_arguments(parser)
    add_token_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress counter")


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    """Score a predictions file, or the model named by ``--model`` when no ``--predictions`` is given."""
    import json

    from ..eval.cli import run as evaluate

    predict = None
    progress = None
    if args.predictions is None:
        engine = load_checked(engine_factory, args.model, args.device)
        progress = None if args.quiet else ProgressBar(unit="sample")

        def predict(image: np.ndarray, instruction: str) -> Reply:
            reply = call_engine(engine.chat, image, instruction, max_new_tokens=args.max_new_tokens)
            if progress is not None:
                progress.step()
            return reply

    try:
        metrics = evaluate(args, predict)
    finally:
        if progress is not None:
            progress.close()
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    return EXIT_OK
