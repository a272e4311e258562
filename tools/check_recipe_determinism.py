"""Run the first steps of a training recipe twice from the same seed and say where the two runs' losses part.

Produces the reproducibility figure of docs/MODEL_CARD_demo.md ("Recipe": on a 2-core CPU two runs of the same
recipe already differed in the seventh digit of a loss after nine steps). Each run is a fresh ``Trainer`` of the
recipe (same seed, same data stream) stopped after ``--steps`` optimizer steps, writing into its own temporary
folder; every logged loss and the gradient norm are compared step by step, and the first significant digit where
they differ is printed. Differences come from multi-threaded CPU kernels that do not sum in a fixed order, so run it
with the thread count of the training run:

    OMP_NUM_THREADS=2 python tools/check_recipe_determinism.py --recipe demo --steps 11

The smallest run (two steps of the test recipe):

    python tools/check_recipe_determinism.py --recipe tiny --steps 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COMPARED = ("loss", "ce_loss", "bce_loss", "dice_loss", "class_loss", "grad_norm")


def train_steps(recipe_name: str, steps: int, folder: Path) -> list[dict[str, float]]:
    """The per-step log of the recipe's first ``steps`` optimizer steps, checkpoints off, written under ``folder``."""
    from engine.train.config import load_recipe
    from engine.train.recipe import Trainer

    recipe = load_recipe(recipe_name, {"output_dir": str(folder), "save_every": 0})
    trainer = Trainer(recipe, log=lambda text: None)
    try:
        return trainer.run(max_steps=steps)
    finally:
        trainer.close()


def first_different_digit(a: float, b: float) -> int | None:
    """1-based position of the first significant digit where ``a`` and ``b`` differ (None when equal)."""
    if a == b:
        return None
    digits_a, digits_b = (f"{abs(x):.16e}".replace(".", "").split("e") for x in (a, b))
    if digits_a[1] != digits_b[1] or (a < 0) != (b < 0):  # different sign or order of magnitude
        return 1
    return next(i + 1 for i, (x, y) in enumerate(zip(digits_a[0], digits_b[0])) if x != y)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="demo", help="recipe name or TOML path (default: demo)")
    parser.add_argument("--steps", type=int, default=11, help="optimizer steps per run")
    args = parser.parse_args()

    import torch

    with tempfile.TemporaryDirectory() as folder:
        first = train_steps(args.recipe, args.steps, Path(folder) / "a")
        second = train_steps(args.recipe, args.steps, Path(folder) / "b")
    threads = torch.get_num_threads()
    print(f"recipe {args.recipe}, {args.steps} steps twice, torch {torch.__version__}, {threads} threads")
    print("| step | stage | loss, run 1 | loss, run 2 | first differing digit (any logged value) |")
    print("|---:|---|---:|---:|---|")
    parted = None
    for one, two in zip(first, second, strict=True):
        differing = {
            key: digit
            for key in COMPARED
            if key in one and (digit := first_different_digit(one[key], two[key])) is not None
        }
        where = ", ".join(f"{key}: digit {digit}" for key, digit in differing.items()) or "identical"
        print(f"| {one['step']} | {one['stage']} | {one['loss']:.10g} | {two['loss']:.10g} | {where} |")
        if differing and parted is None:
            parted = (one["step"], min(differing.values()))
    if parted is None:
        print(f"the two runs agree exactly for all {args.steps} steps")
    else:
        print(f"first difference after step {parted[0]}, in significant digit {parted[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
