"""Recipe: teach a trained model example prompts ("find all like these"), one plain loop driven by a TOML file.

    OMP_NUM_THREADS=2 python -m engine.train.examples --recipe examples_demo

Everything the model already has stays frozen (so its text answers do not change); only the example encoder
(``engine/model/geoground/examples.py``) trains. The grounding features of every training scene are therefore
computed once, and a step costs a few mask decodes. A sample: a scene, a class, one to ``max_examples`` of its
objects as examples (their masks, or a point on each), taken from the scene itself or from another scene of the
same source; the target is every object of that class in the scene (nothing, for a class the scene lacks).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tomllib
import torch

from ..data.real_scenes import tile_scene
from ..data.sample import Scene
from ..data.synthetic import generate_scene
from .data import WHOLE_SCENES, dihedral, load_real_scene, split_columns

RECIPES = Path(__file__).parent / "recipes"
# Classes too large or too continuous to be "objects like these" (one field or road network fills a scene).
NOT_OBJECTS = ("field", "road")


@dataclass
class ExamplesRecipe:
    name: str
    base_model: str
    output_dir: str
    export_dir: str | None = None
    export_dtype: str = "float16"
    seed: int = 0
    hidden: int = 128
    steps: int = 1500
    batch_size: int = 8
    lr: float = 1e-3
    warmup_steps: int = 50
    log_every: int = 25
    save_every: int = 250  # the encoder's weights to output_dir/encoder-STEP.safetensors (0: only at the end)
    synthetic_scenes: int = 300
    validation_scenes: int = 40
    scene_size: int = 256
    real_scenes: list[str] = field(default_factory=list)
    real_root: str = "../shared/data"
    real_train_fraction: float = 0.6
    real_stride: int = 192
    real_fraction: float = 0.5  # share of samples whose scene is real (the rest synthetic)
    real_dihedral: bool = True  # also each real tile rotated and mirrored (8 variants)
    point_fraction: float = 0.3
    other_scene_fraction: float = 0.3
    absent_fraction: float = 0.15
    max_examples: int = 5
    point_radius: int = 4

    @classmethod
    def load(cls, name_or_path: str) -> ExamplesRecipe:
        path = Path(name_or_path)
        if not path.suffix:
            path = RECIPES / f"{name_or_path}.toml"
        with path.open("rb") as handle:
            return cls(**tomllib.load(handle))


@dataclass
class CachedScene:
    """A training scene with its frozen grounding features."""

    source: str  # scenes of one source may lend each other examples
    scene: Scene
    features: object  # ImageFeatures


def training_scenes(recipe: ExamplesRecipe) -> list[tuple[str, Scene]]:
    """Synthetic scenes and tiles of the real scenes' training parts, each with its source name."""
    scenes = [("synthetic", generate_scene(recipe.seed * 100_000 + i, recipe.scene_size))
              for i in range(recipe.synthetic_scenes)]  # fmt: skip
    for kind in recipe.real_scenes:
        scene = load_real_scene(kind, recipe.real_root)
        if kind not in WHOLE_SCENES:
            scene = split_columns(scene, recipe.real_train_fraction, "train")
        size = min(recipe.scene_size, *scene.image.shape[:2])
        tiles = [tile for tile in tile_scene(scene, size, recipe.real_stride) if tile.instances]
        turns = range(8) if recipe.real_dihedral else range(1)
        scenes += [(kind, dihedral(tile, k)) for tile in tiles for k in turns]
    return scenes


def validation_scenes(recipe: ExamplesRecipe) -> list[Scene]:
    """Synthetic scenes from seeds no training scene uses."""
    return [generate_scene(10_000_000 + recipe.seed * 1000 + i, recipe.scene_size)
            for i in range(recipe.validation_scenes)]  # fmt: skip


def object_classes(scene: Scene) -> list[str]:
    return [c for c in scene.classes if c not in NOT_OBJECTS]


def point_mask(mask: np.ndarray, rng: np.random.Generator, radius: int) -> np.ndarray:
    """A disc around a random pixel of ``mask``, inside it where the object is thinner than the disc."""
    rows, cols = np.nonzero(mask)
    k = int(rng.integers(len(rows)))
    yy, xx = np.ogrid[: mask.shape[0], : mask.shape[1]]
    disc = (yy - rows[k]) ** 2 + (xx - cols[k]) ** 2 <= radius**2
    return disc & mask if (disc & mask).sum() >= 3 else disc


def draw_sample(pool: list[CachedScene], by_source: dict[str, list[int]], recipe, rng):
    """(target scene, example scene, example masks (K, H, W), target mask (H, W))."""
    real = [k for source, members in by_source.items() if source != "synthetic" for k in members]
    while True:
        if real and rng.random() < recipe.real_fraction:
            target = pool[real[int(rng.integers(len(real)))]]
        else:
            synthetic = by_source.get("synthetic") or real
            target = pool[synthetic[int(rng.integers(len(synthetic)))]]
        classes = object_classes(target.scene)
        peers = by_source[target.source]
        absent = target.scene.absent([c for k in peers[:50] for c in object_classes(pool[k].scene)])
        if absent and rng.random() < recipe.absent_fraction:
            class_name = absent[int(rng.integers(len(absent)))]
        elif classes:
            class_name = classes[int(rng.integers(len(classes)))]
        else:
            continue
        source = target
        if class_name not in classes or rng.random() < recipe.other_scene_fraction:
            lenders = [k for k in peers if class_name in object_classes(pool[k].scene)]
            if not lenders:
                continue
            source = pool[lenders[int(rng.integers(len(lenders)))]]
        members = source.scene.of_class(class_name)
        k = int(rng.integers(1, min(recipe.max_examples, len(members)) + 1))
        chosen = [members[i] for i in rng.choice(len(members), size=k, replace=False)]
        as_points = rng.random() < recipe.point_fraction
        masks = [point_mask(m.mask, rng, recipe.point_radius) if as_points else m.mask for m in chosen]
        union = np.zeros(target.scene.image.shape[:2], dtype=bool)
        for inst in target.scene.of_class(class_name):
            union |= inst.mask
        return target, source, np.stack(masks), union


def sample_loss(model, target: CachedScene, source: CachedScene, masks: np.ndarray, union: np.ndarray):
    prototypes = model.example_prototypes(source.features, torch.from_numpy(masks))
    prediction = model.example_masks([target.features], prototypes)
    bce, dice = model._mask_losses(prediction, [torch.from_numpy(union)[None]])
    return model.config.bce_loss_weight * bce + model.config.dice_loss_weight * dice


@torch.no_grad()
def validate(model, scenes: list[CachedScene], rng_seed: int = 0) -> dict[str, float]:
    """Per class: mean IoU of the found mask with all its objects, from 3 examples of the scene (1 when fewer)."""
    rng = np.random.default_rng(rng_seed)
    ious: dict[str, list[float]] = {}
    for cached in scenes:
        for class_name in object_classes(cached.scene):
            members = cached.scene.of_class(class_name)
            chosen = rng.choice(len(members), size=min(3, len(members)), replace=False)
            masks = torch.from_numpy(np.stack([members[i].mask for i in chosen]))
            prototypes = model.example_prototypes(cached.features, masks)
            prediction = model.example_masks([cached.features], prototypes)
            found = (prediction.logits_at(0, cached.features.size) > 0).numpy()
            truth = np.logical_or.reduce([m.mask for m in members])
            union = np.logical_or(found, truth).sum()
            ious.setdefault(class_name, []).append(float(np.logical_and(found, truth).sum() / union))
    per_class = {c: round(float(np.mean(v)), 3) for c, v in sorted(ious.items())}
    per_class["mean"] = round(float(np.mean(list(per_class.values()))), 3) if per_class else 0.0
    return per_class


def run(recipe: ExamplesRecipe, log=lambda text: print(text, flush=True)) -> dict:
    from ..hub.registry import load_family

    torch.manual_seed(recipe.seed)
    family, _ = load_family(recipe.base_model, None, dtype=torch.float32, device=torch.device("cpu"))
    model, tokenizer = family.model, family.tokenizer
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    encoder = model.add_example_encoder(recipe.hidden, recipe.seed)
    model.eval()  # frozen parts stay in inference mode (no dropout); the encoder has no dropout or norm

    started = time.perf_counter()
    with torch.no_grad():
        pool = [CachedScene(source, scene, model.grounding_features(scene.image))
                for source, scene in training_scenes(recipe)]  # fmt: skip
        held_out = [CachedScene("synthetic", s, model.grounding_features(s.image)) for s in validation_scenes(recipe)]
    by_source: dict[str, list[int]] = {}
    for k, cached in enumerate(pool):
        by_source.setdefault(cached.source, []).append(k)
    log(f"{len(pool)} training scenes ({', '.join(f'{s}: {len(v)}' for s, v in by_source.items())}), "
        f"{len(held_out)} validation scenes, features in {time.perf_counter() - started:.0f} s")  # fmt: skip

    optimizer = torch.optim.AdamW(encoder.parameters(), lr=recipe.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / recipe.warmup_steps)
        * 0.5 * (1 + math.cos(math.pi * min(step, recipe.steps) / recipe.steps)),
    )  # fmt: skip
    rng = np.random.default_rng(recipe.seed)
    history = []
    output = Path(recipe.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    before = validate(model, held_out)
    log(f"validation before training (mIoU per class): {before}")
    started, running = time.perf_counter(), 0.0
    for step in range(1, recipe.steps + 1):
        loss = sum(sample_loss(model, *draw_sample(pool, by_source, recipe, rng)) for _ in range(recipe.batch_size))
        loss = loss / recipe.batch_size
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(encoder.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        running += float(loss.detach())
        if step % recipe.log_every == 0:
            rate = step / (time.perf_counter() - started)
            history.append({"step": step, "loss": running / recipe.log_every})
            log(f"step {step}/{recipe.steps} loss {running / recipe.log_every:.4f} ({rate:.2f} steps/s)")
            running = 0.0
        if recipe.save_every and step % recipe.save_every == 0:
            from safetensors.torch import save_file

            weights = {k: v.contiguous() for k, v in encoder.state_dict().items()}
            save_file(weights, output / f"encoder-{step}.safetensors")
    after = validate(model, held_out)
    log(f"validation after training (mIoU per class): {after}")
    report = {"recipe": recipe.name, "steps": recipe.steps, "seconds": round(time.perf_counter() - started),
              "validation_before": before, "validation_after": after, "history": history,
              "training_scenes": {s: len(v) for s, v in by_source.items()}}  # fmt: skip
    (output / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    export(model, tokenizer, Path(recipe.export_dir) if recipe.export_dir else output / "model", recipe.export_dtype)
    return report


def export(model, tokenizer, folder: Path, dtype: str) -> Path:
    """The whole model, its encoder included, as a model folder (written beside, then moved in place)."""
    import shutil

    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    model = model.to(dtypes[dtype])
    model.config.dtype = dtype
    temp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    model.save_pretrained(temp, safe_serialization=True)
    tokenizer.save_pretrained(temp)
    for extra in ("README.md",):  # files the model folder keeps (its card pointer)
        if (folder / extra).is_file():
            shutil.copy2(folder / extra, temp / extra)
    if folder.exists():
        shutil.rmtree(folder)
    temp.rename(folder)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="examples_demo", help="recipe name in engine/train/recipes or a path")
    parser.add_argument("--steps", type=int, help="override the recipe's steps")
    args = parser.parse_args(argv)
    recipe = ExamplesRecipe.load(args.recipe)
    if args.steps:
        recipe.steps = args.steps
    run(recipe)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
