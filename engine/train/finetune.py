"""Fine-tune a saved model on training sets built from the user's own layers (``python -m engine dataset``).

    python -m engine finetune DATASET [DATASET ...] --base demo -o my-model --minutes 10

The recipe's own loop (:class:`~engine.train.recipe.Trainer`) runs one stage of "segment all" questions about the
datasets' classes, drawn as random windows of their chips (rotated and mirrored), training the mask side of the base
model (and its language model too when a class is new to it, so that it learns to ground the new name). With a time
budget, two probe steps measure how long a step takes and the stage is planned to end within the budget, so its
learning rate decays fully; should steps turn slower than measured (other work on the machine), the run stops at the
budget and the model is saved as it is then. Everything is written beside the destination and moved into place at
the end: a cancel or a failure leaves no model folder, and the base model is only read.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..types import Cancelled
from .config import OptimConfig, Recipe, RecipeError, StageConfig
from .data import DataConfig

# Parts trained by default: the mask side; "llm" is added when a dataset names a class the base model lacks.
MASK_SIDE = ("grounding", "mask_predictor", "mask_refiner")
PROBE_STEPS = 2
SAVE_S = 5.0  # seconds kept for saving the model when a time budget ends the run


@dataclass
class FinetuneReport:
    folder: str
    base: str
    datasets: list[str]
    classes: list[str]
    parts: list[str]
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)

    @property
    def first_loss(self) -> float:
        return float(self.history[0]["loss"]) if self.history else math.nan

    @property
    def last_loss(self) -> float:
        """Mean loss of the last tenth of the steps (one step is noisy)."""
        tail = self.history[-max(1, len(self.history) // 10) :]
        return float(sum(h["loss"] for h in tail) / len(tail)) if tail else math.nan


def finetune(
    datasets: Sequence[str | Path],
    base: str,
    output: str | Path,
    *,
    minutes: float | None = 10.0,
    steps: int | None = None,
    parts: Sequence[str] | None = None,
    lr: float = 3e-4,
    batch_size: int = 4,
    seed: int = 0,
    on_step: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> FinetuneReport:
    """Train ``base`` on ``datasets`` and save it as the model folder ``output`` (which must not exist yet, or be
    empty), in the dtype the base is saved in. ``minutes``: the time budget, probe included (``steps`` then caps
    the steps); without it, ``steps`` (default 300). ``on_step(step, total, loss)`` after each step;
    ``should_stop()`` before each, raising :class:`~engine.types.Cancelled` with nothing written."""
    from .recipe import Trainer

    started = time.perf_counter()
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise RecipeError(f"{output} already exists and is not an empty folder: choose a new model folder")
    if not datasets:
        raise RecipeError("give at least one training-set folder (made by python -m engine dataset)")
    if minutes is not None and not minutes > 0:
        raise RecipeError(f"the time budget must be positive minutes, got {minutes}")
    if steps is not None and steps < 1:
        raise RecipeError(f"steps must be at least 1, got {steps}")
    data = DataConfig(
        dataset_dirs=[str(d) for d in datasets],
        real_fraction=1.0,
        task="segment_all",
        segment_all_style="grounded",
        real_sampling="windows",
        seed=seed,
    )
    classes = data.own_classes()
    work = output.parent / f".{output.name}.partial-{uuid.uuid4().hex[:8]}"
    say = log or (lambda text: None)

    def recipe_for(stage_steps: int, folder: str) -> Recipe:
        stage = StageConfig("finetune", stage_steps, lr, "joint", list(chosen), min(20, stage_steps // 10))
        return Recipe(name="finetune", preset="demo", seed=seed, output_dir=str(work / folder), base_model=base,
                      export_dtype=dtype, data=data, optim=OptimConfig(batch_size=batch_size), save_every=0,
                      log_every=10, stages=[stage])  # fmt: skip

    try:
        chosen = list(parts or MASK_SIDE)
        dtype = "float32"  # until the base model says how it is saved
        trainer = Trainer(recipe_for(steps or 300, "run"), log=say)
        model = trainer.model
        dtype = str(getattr(model.config, "dtype", None) or "float32").removeprefix("torch.")
        dtype = dtype if dtype in ("float16", "bfloat16", "float32") else "float32"
        trainer.recipe.export_dtype = dtype  # saved as the base model is
        if parts is None:
            if model.mask_refiner is None:
                chosen.remove("mask_refiner")
            new = [c for c in classes if c not in model.config.class_names]
            if new:
                chosen.append("llm")
                say(f"classes new to {base}: {', '.join(new)}: its language model trains too")
            trainer.recipe.stages[0].trainable = list(chosen)
        if minutes is not None:
            probe = Trainer(recipe_for(PROBE_STEPS + 1, "probe"), log=say)
            probe.run(max_steps=1)  # the first step warms caches up; the next ones are timed
            timed = time.perf_counter()
            probe.run(max_steps=PROBE_STEPS)
            per_step = (time.perf_counter() - timed) / PROBE_STEPS
            left = minutes * 60 - (time.perf_counter() - started) - 10 * per_step  # room for saving
            planned = max(1, int(left / per_step))
            planned = min(planned, steps) if steps else planned
            say(f"{per_step:.2f} s per step: {planned} steps fit in {minutes:g} minutes")
            trainer = Trainer(recipe_for(planned, "run"), log=say)
        total = trainer.recipe.total_steps

        deadline = None if minutes is None else started + minutes * 60 - SAVE_S

        def stop() -> bool:
            return should_stop is not None and should_stop()

        def stepped() -> bool:  # reports the last step, then asks whether to stop (the user, or the time budget)
            history = trainer.progress.history
            if history and on_step is not None and len(history) != getattr(stepped, "seen", 0):
                stepped.seen = len(history)
                on_step(len(history), total, float(history[-1]["loss"]))
            late = deadline is not None and bool(history) and time.perf_counter() > deadline  # one step at least
            return stop() or late

        history = trainer.run(should_stop=stepped)
        if stop():
            raise Cancelled(f"fine-tuning stopped after {len(history)} of {total} steps; no model was written")
        if not trainer.finished():
            say(f"the time budget ended the run after {len(history)} of {total} planned steps")
        if on_step is not None:
            on_step(len(history), total, float(history[-1]["loss"]))
        trainer.export(work / "model")
        report = FinetuneReport(str(output), base, [str(d) for d in datasets], classes, chosen, len(history),
                                round(time.perf_counter() - started, 1), history)  # fmt: skip
        _describe(work / "model", report)
        if output.exists():
            output.rmdir()  # empty (checked above)
        (work / "model").rename(output)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def finetune_request(
    params: dict,
    on_step: Callable[[int, int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """:func:`finetune` from plain data (the engine process's "finetune" request): ``datasets``, ``base``,
    ``output``, and optionally ``minutes`` (None: ``steps``), ``steps``, ``lr``, ``seed``; the outcome in plain data
    (the folder, the steps, the loss of each step)."""
    missing = [key for key in ("datasets", "base", "output") if not params.get(key)]
    if missing:
        raise RecipeError(f"a fine-tuning request needs {', '.join(missing)}")
    minutes = params.get("minutes", 10.0)
    report = finetune(
        [str(d) for d in params["datasets"]],
        str(params["base"]),
        str(params["output"]),
        minutes=None if minutes is None else float(minutes),
        steps=int(params["steps"]) if params.get("steps") else None,
        lr=float(params.get("lr", 3e-4)),
        seed=int(params.get("seed", 0)),
        on_step=on_step,
        should_stop=should_stop,
    )
    return {
        "model": report.folder,
        "steps": report.steps,
        "seconds": report.seconds,
        "classes": report.classes,
        "parts": report.parts,
        "losses": [round(float(h["loss"]), 5) for h in report.history],
        "first_loss": report.first_loss,
        "last_loss": report.last_loss,
    }


def _describe(folder: Path, report: FinetuneReport) -> None:
    """What the folder holds and how it was made: finetune.json (every step's losses) and a README."""
    (folder / "finetune.json").write_text(json.dumps(asdict(report), indent=1) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(
        f"# {Path(report.folder).name}\n\n"
        f"Fine-tuned from `{report.base}` on {', '.join(report.datasets)} (classes: {', '.join(report.classes)}) by "
        f"`python -m engine finetune`: {report.steps} steps in {report.seconds:.0f} s, parts trained: "
        f"{', '.join(report.parts)}. Loss {report.first_loss:.3f} at the first step, {report.last_loss:.3f} over "
        "the last tenth. The base model's licence applies to these weights too.\n",
        encoding="utf-8",
    )
