"""Training data: a deterministic, seekable stream of grounded samples and the collate that feeds ``forward``.

Sample ``k`` of a stream is a pure function of ``(seed, k)``: it picks a source (a fresh synthetic scene, or a tile of
a licence-clean real scene), a scene and one of its samples from a generator seeded by both. So the data position is
one integer, a resumed run sees exactly the samples it would have seen, and DDP ranks shard the stream by index.

Real scenes are split by columns: the left ``train_fraction`` of each scene may feed training, the rest is held out
for evaluation. Files under ``demo/``, ``eval_only/`` or ``geopixeld_sample/`` are refused.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.layer_dataset import dataset_classes, read_dataset
from ..data.real_scenes import (
    RESTRICTED_FOLDERS,
    RestrictedDataError,
    atlanta_buildings,
    crop_scene,
    naip_water,
    neon_trees,
    tile_scene,
    vegas_roads,
)
from ..data.sample import DataFormatError, GroundedSample, Scene
from ..data.scene_text import (
    SEGMENT_ALL_STYLES,
    description_sample,
    referring_sample,
    scene_samples,
    segment_all_sample,
)
from ..data.synthetic import generate_scene
from ..data.templates import CLASS_BY_NAME
from ..model.chat import encode
from ..types import Turn

# Folders whose files are never training data: evaluation scenes and academic-licence fixtures.
FORBIDDEN_FOLDERS = (*RESTRICTED_FOLDERS, "geopixeld_sample")
# Data class names that differ from a model's class names (the memory presets use shorter names).
CLASS_ALIASES = {"airplane": "plane", "water body": "water", "tree": "vegetation", "field": "vegetation"}
TASKS = ("segment_all", "referring", "gcg", "mixed")


class DataConfigError(ValueError):
    """The data section of a recipe asks for something the pipeline cannot provide."""


def check_training_path(path: str | Path) -> Path:
    """Refuse evaluation-only and academic-licence files before anything reads them."""
    path = Path(path)
    if any(part in FORBIDDEN_FOLDERS for part in path.parts):
        raise RestrictedDataError(f"{path} is reserved for evaluation and cannot be used for training")
    return path


# Real scene readers by kind: the files each needs, relative to the data root.
REAL_SCENES = {
    "spacenet_atlanta": (atlanta_buildings, "spacenet/atlanta_pan_0p5m.tif", "spacenet/atlanta_buildings.geojson"),
    "naip_water": (naip_water, "naip/naip_5m_lakes_2020.tif"),
    "vegas_roads": (vegas_roads, "spacenet/vegas_roads_image.tif", "spacenet/vegas_roads_mask.tif"),
    "neon_osbs": (neon_trees, "neon/OSBS_029.tif", "neon/OSBS_029.xml"),
    "neon_soap": (neon_trees, "neon/SOAP_061.png", "neon/SOAP_061.xml"),
    "neon_yell": (
        neon_trees,
        "neon/2019_YELL_2_541000_4977000_image_crop.png",
        "neon/2019_YELL_2_541000_4977000_image_crop.xml",
    ),
}
# Scenes whose labels are all training data (the NEON evaluation scene lives in eval_only/ instead): no column split.
WHOLE_SCENES = ("neon_osbs", "neon_soap", "neon_yell")
REAL_SAMPLING = ("tiles", "windows")


def load_real_scene(kind: str, root: str | Path) -> Scene:
    if kind not in REAL_SCENES:
        raise DataConfigError(f"unknown real scene {kind!r}; known: {', '.join(REAL_SCENES)}")
    reader, *names = REAL_SCENES[kind]
    paths = [check_training_path(Path(root) / name) for name in names]
    return reader(*paths)


def separate_touching(scene: Scene, gap: int) -> Scene:
    """Each instance without its pixels within ``gap`` pixels of another instance of the same class.

    "Segment all" targets are the union of a class's instances and the pipeline splits a mask into connected
    regions; touching crowns or roofs would come back as one region, so the targets keep a thin background line
    between neighbours.
    """
    if gap < 1 or len(scene.instances) < 2:
        return scene
    size = 2 * gap + 1
    instances = []
    for class_name in scene.classes:
        members = scene.of_class(class_name)
        labels = np.zeros(scene.image.shape[:2], dtype=np.float32)
        for k, inst in enumerate(members, start=1):
            labels[inst.mask] = k
        grid = torch.from_numpy(labels)[None, None]
        highest = torch.nn.functional.max_pool2d(grid, size, 1, gap)[0, 0].numpy()
        lowest = -torch.nn.functional.max_pool2d(-torch.where(grid > 0, grid, 1e9), size, 1, gap)[0, 0].numpy()
        for k, inst in enumerate(members, start=1):
            mask = inst.mask & (highest == k) & (lowest == k)
            instances.append(type(inst)(class_name, mask if mask.any() else inst.mask, inst.instance_id))
    return Scene(scene.image, instances, scene.gsd, scene.name, scene.absent_classes)


def dihedral(scene: Scene, k: int) -> Scene:
    """One of the 8 rotations / mirror images of a scene (``k`` in 0-7), masks with it."""

    def turn(a: np.ndarray) -> np.ndarray:
        a = np.rot90(a, k % 4)
        return np.ascontiguousarray(a[:, ::-1] if k >= 4 else a)

    instances = [type(i)(i.class_name, turn(i.mask), i.instance_id) for i in scene.instances]
    return Scene(turn(scene.image), instances, scene.gsd, f"{scene.name}:d{k}", scene.absent_classes)


def split_columns(scene: Scene, train_fraction: float, part: str) -> Scene:
    """The training (left) or held-out (right) column band of a scene, instances cropped with it."""
    width = scene.image.shape[1]
    cut = int(round(width * train_fraction))
    cols = slice(0, cut) if part == "train" else slice(cut, width)
    instances = [type(i)(i.class_name, i.mask[:, cols].copy(), i.instance_id) for i in scene.instances]
    instances = [i for i in instances if i.mask.any()]
    return Scene(scene.image[:, cols].copy(), instances, scene.gsd, f"{scene.name}:{part}", scene.absent_classes)


@dataclass
class DataConfig:
    seed: int = 0
    scene_size: int = 256
    synthetic_classes: list[str] | None = None  # None: every class the generator draws
    task: str = "mixed"  # which samples a scene yields: one task, or "mixed" (every kind scene_samples makes)
    real_fraction: float = 0.0
    real_scenes: list[str] = field(default_factory=list)
    # Folders written by ``python -m engine dataset`` (a user's own layers): their chips join the real scenes, all
    # of them training data (no column split), sampled the same way.
    dataset_dirs: list[str] = field(default_factory=list)
    real_root: str = "../shared/data"
    real_train_fraction: float = 0.6
    real_tile: int = 256
    # "tiles": a fixed grid of half-overlapping tiles, drawn uniformly; "windows": a scene kind drawn uniformly,
    # then a window at a random place in it, randomly rotated or mirrored (more variety from few labelled scenes).
    real_sampling: str = "tiles"
    instance_gap: int = 0  # pixels of background kept between touching instances of a class (separate_touching)
    samples_per_scene: int = 4
    segment_all_style: str = "counted"  # "counted" or "grounded": see engine.data.scene_text.segment_all_sample
    with_absent: bool = False  # task "segment_all": also ask for one class the scene lacks ("mixed" always does)
    # Task "segment_all": the classes questions ask about (None: all). Scenes still hold every class, so the others
    # stay in the picture as look-alikes the mask must leave out.
    segment_all_classes: list[str] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataConfigError(f"data.task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if not 0.0 <= self.real_fraction <= 1.0:
            raise DataConfigError(f"data.real_fraction must be within 0-1, got {self.real_fraction}")
        if self.real_fraction > 0 and not (self.real_scenes or self.dataset_dirs):
            raise DataConfigError("data.real_fraction > 0 needs data.real_scenes or data.dataset_dirs")
        if self.dataset_dirs and self.real_fraction == 0:
            raise DataConfigError("data.dataset_dirs are drawn with probability data.real_fraction: set it above 0")
        if self.samples_per_scene < 1:
            raise DataConfigError(f"data.samples_per_scene must be at least 1, got {self.samples_per_scene}")
        if self.real_sampling not in REAL_SAMPLING:
            raise DataConfigError(f"data.real_sampling must be one of {', '.join(REAL_SAMPLING)}")
        if self.segment_all_style not in SEGMENT_ALL_STYLES:
            raise DataConfigError(
                f"data.segment_all_style must be one of {', '.join(SEGMENT_ALL_STYLES)}, got {self.segment_all_style!r}"
            )
        for folder in self.dataset_dirs:
            check_training_path(folder)
        known = [*CLASS_BY_NAME, *(c for c in self.own_classes() if c not in CLASS_BY_NAME)]
        unknown = sorted(set(self.segment_all_classes or ()) - set(known))
        if unknown or self.segment_all_classes == []:
            raise DataConfigError(
                f"data.segment_all_classes must name classes of {', '.join(known)}; got {unknown or '[]'}"
            )
        check_training_path(self.real_root)

    def own_classes(self) -> list[str]:
        """The classes the ``dataset_dirs`` label, in order (read from their manifests)."""
        try:
            return list(dict.fromkeys(c for folder in self.dataset_dirs for c in dataset_classes(folder)))
        except DataFormatError as exc:
            raise DataConfigError(f"data.dataset_dirs: {exc}") from None


class SampleStream:
    """Indexable, endless stream of :class:`GroundedSample` (see the module docstring for determinism).

    Consecutive indices share a scene (``samples_per_scene`` of them), because drawing a scene costs more than a
    training step on one sample; the samples of one scene ask different questions about it.
    """

    def __init__(self, config: DataConfig) -> None:
        self.config = config
        self.real_tiles: list[Scene] = []
        self._cache: tuple[int, list[GroundedSample]] | None = None
        self.real_scenes: list[Scene] = []
        self.own_classes = [c for c in config.own_classes() if c not in CLASS_BY_NAME]
        if config.real_fraction > 0:
            for kind in config.real_scenes:
                scene = load_real_scene(kind, config.real_root)
                if kind not in WHOLE_SCENES:
                    scene = split_columns(scene, config.real_train_fraction, "train")
                self.real_scenes.append(scene)
                if config.real_sampling == "tiles":
                    size = min(config.real_tile, *scene.image.shape[:2])
                    self.real_tiles += [t for t in tile_scene(scene, size, stride=size // 2) if t.instances]
            for folder in config.dataset_dirs:
                try:
                    chips = read_dataset(check_training_path(folder))
                except DataFormatError as exc:
                    raise DataConfigError(f"data.dataset_dirs: {exc}") from None
                self.real_scenes += chips
                if config.real_sampling == "tiles":
                    for scene in chips:
                        size = min(config.real_tile, *scene.image.shape[:2])
                        self.real_tiles += [t for t in tile_scene(scene, size, stride=size // 2) if t.instances]
            windows = config.real_sampling == "windows"
            if not (any(s.instances for s in self.real_scenes) if windows else self.real_tiles):
                raise DataConfigError("the real scenes gave no tile with objects")

    def real_window(self, rng: np.random.Generator) -> Scene:
        """A random window of a random real scene, rotated or mirrored (``real_sampling = "windows"``)."""
        scene = self.real_scenes[int(rng.integers(len(self.real_scenes)))]
        height, width = scene.image.shape[:2]
        size = min(self.config.real_tile, height, width)
        row, col = int(rng.integers(height - size + 1)), int(rng.integers(width - size + 1))
        return dihedral(crop_scene(scene, row, col, size), int(rng.integers(8)))

    def scene(self, rng: np.random.Generator) -> Scene:
        config = self.config
        if self.real_scenes and rng.random() < config.real_fraction:
            if config.real_sampling == "windows":
                return self.real_window(rng)
            return self.real_tiles[int(rng.integers(len(self.real_tiles)))]
        seed = int(rng.integers(2**31))
        return generate_scene(seed, config.scene_size, classes=config.synthetic_classes)

    def scene_samples(self, scene_index: int) -> list[GroundedSample]:
        """The samples one scene yields (the first of up to 16 draws that yields any)."""
        if self._cache is not None and self._cache[0] == scene_index:
            return self._cache[1]
        for attempt in range(16):
            rng = np.random.default_rng([self.config.seed, scene_index, attempt])
            samples = self._samples(separate_touching(self.scene(rng), self.config.instance_gap), rng)
            if samples:
                order = rng.permutation(len(samples))
                self._cache = (scene_index, [samples[i] for i in order])
                return self._cache[1]
        raise DataConfigError(f"no usable sample for scene {scene_index}: check data.task and data.synthetic_classes")

    def __getitem__(self, index: int) -> GroundedSample:
        if index < 0:
            raise IndexError(index)
        per_scene = self.config.samples_per_scene
        samples = self.scene_samples(index // per_scene)
        return samples[(index % per_scene) % len(samples)]

    def take(self, start: int, count: int) -> list[GroundedSample]:
        return [self[start + i] for i in range(count)]

    def _samples(self, scene: Scene, rng: np.random.Generator) -> list[GroundedSample]:
        task, style = self.config.task, self.config.segment_all_style
        if task == "mixed":
            return scene_samples(scene, rng, style)
        if task in ("referring", "gcg"):
            sample = referring_sample(scene, rng) if task == "referring" else description_sample(scene, rng)
            return [] if sample is None else [sample]
        asked = self.config.segment_all_classes or [*CLASS_BY_NAME, *self.own_classes]
        samples = [segment_all_sample(scene, c, rng, style) for c in scene.classes if c in asked]
        absent = scene.absent(asked)
        if self.config.with_absent and absent and samples:
            samples.append(segment_all_sample(scene, absent[int(rng.integers(len(absent)))], rng, style))
        return samples


def class_index(class_names: Sequence[str], name: str | None) -> int:
    """Index of a data class in the model's class list (through :data:`CLASS_ALIASES`), -1 when absent."""
    if name is None:
        return -1
    for candidate in (name, CLASS_ALIASES.get(name)):
        if candidate in class_names:
            return list(class_names).index(candidate)
    return -1


def collate(samples: Sequence[GroundedSample], tokenizer, class_names: Sequence[str]) -> dict[str, Any]:
    """Samples -> the keyword arguments of ``GeoGroundModel.forward`` (one image and conversation each)."""
    batch: dict[str, list] = {"images": [], "input_ids": [], "labels": [], "masks": [], "class_ids": []}
    for sample in samples:
        turns = [Turn("user", sample.instruction), Turn("assistant", sample.answer)]
        ids, labels = encode(tokenizer, turns, None, add_generation_prompt=False)
        height, width = sample.image.shape[:2]
        masks = np.stack(sample.masks) if sample.masks else np.zeros((0, height, width), dtype=bool)
        batch["images"].append(sample.image)
        batch["input_ids"].append(torch.tensor(ids, dtype=torch.long))
        batch["labels"].append(torch.tensor(labels, dtype=torch.long))
        batch["masks"].append(torch.from_numpy(masks.astype(np.float32)))
        batch["class_ids"].append(torch.tensor([class_index(class_names, c) for c in sample.classes], dtype=torch.long))
    return batch


_WORKER_STREAMS: dict[str, SampleStream] = {}


def _draw(config: DataConfig, start: int, count: int) -> list[GroundedSample]:
    """Samples ``start .. start + count - 1`` of the stream ``config`` describes (runs in a worker process)."""
    key = repr(config)
    if key not in _WORKER_STREAMS:
        _WORKER_STREAMS[key] = SampleStream(config)
    return _WORKER_STREAMS[key].take(start, count)


class Prefetcher:
    """Draws upcoming micro-batches in worker processes while the training loop works on the current one.

    Samples are pure functions of their index, so a prefetched batch is exactly the batch the loop would draw
    itself: the number of workers changes the speed of a run, never its result.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"data_workers must be at least 1 to prefetch, got {workers}")
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.pool = ProcessPoolExecutor(workers, mp_context=context)
        self.ahead = 2 * workers
        self.pending: dict[tuple[str, int, int], Future] = {}

    def take(self, config: DataConfig, starts: Sequence[int], count: int) -> list[GroundedSample]:
        """The ``count`` samples from ``starts[0]``, after queueing the batches at the next ``starts``."""
        key = repr(config)
        for start in starts[: self.ahead + 1]:
            if (key, start, count) not in self.pending:
                self.pending[(key, start, count)] = self.pool.submit(_draw, config, start, count)
        return self.pending.pop((key, starts[0], count)).result()

    def close(self) -> None:
        for future in self.pending.values():
            future.cancel()
        self.pending.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)
