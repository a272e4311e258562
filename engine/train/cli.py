"""``python -m engine train``: run a recipe, resume it, or export a checkpoint as a model folder.

python -m engine train --recipe demo
torchrun --nproc_per_node 2 -m engine train --recipe tiny --set strategy=ddp
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from .config import RecipeError, load_recipe


def _override(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipe", required=True, help="recipe name (engine/train/recipes/NAME.toml) or TOML path")
    parser.add_argument("--output-dir", help="where checkpoints and the log go (default: the recipe's)")
    parser.add_argument("--export-dir", help="where the final model folder goes (default: the recipe's)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in the output dir")
    parser.add_argument("--export-only", action="store_true", help="export the newest checkpoint, do not train")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_override,
        default=[],
        metavar="KEY=VALUE",
        help="override a top-level recipe key (JSON values), e.g. --set strategy=fsdp --set seed=1",
    )


def run(args: argparse.Namespace) -> int:
    """Train (or export); returns 0, or 2 for a recipe the user can fix."""
    from .recipe import Trainer, train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    overrides = dict(args.overrides)
    if args.output_dir:
        overrides["output_dir"] = args.output_dir
    if args.export_dir:
        overrides["export_dir"] = args.export_dir
    try:
        recipe = load_recipe(args.recipe, overrides)
        if args.export_only:
            trainer = Trainer(recipe)
            if trainer.resume() is None:
                raise RecipeError(f"no checkpoint in {Path(recipe.output_dir)} to export")
            print(f"exported to {trainer.export()}")
            return 0
        train(recipe, resume=args.resume)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="engine.train", description="Train a GeoGround model from a recipe.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # torchrun -m engine.train.cli ... (each rank runs this)
    raise SystemExit(main())
