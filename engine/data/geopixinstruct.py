"""Reader for GeoPixInstruct annotations: per-instance descriptions with COCO RLE masks.

Each record is ``{image_id, image_path, instances: [{bbox, category, category_id, description, instance_id,
mask: {counts, size: [h, w]}}]}``; a file holds a JSON list of records or one record per line (JSON Lines).
Every instance becomes a referring sample (its description is the expression). With ``segment_all=True`` every
category that maps onto the project's vocabulary also yields a "segment all" sample on the union of its instances.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .geopixeld import load_json
from .raster import read_image_file
from .sample import DataFormatError, GroundedSample, Instance, Scene
from .scene_text import segment_all_sample
from .templates import REFERRING_ANSWERS, REFERRING_INSTRUCTIONS, class_for_label


def decode_rle(mask: Any, where: str = "mask") -> np.ndarray:
    """A COCO RLE dict (compressed string or uncompressed list counts) as a bool (H, W) array."""
    if not isinstance(mask, dict) or "counts" not in mask or "size" not in mask:
        raise DataFormatError(f"{where}: expected an RLE object with 'counts' and 'size'")
    size = [int(v) for v in mask["size"]]
    counts = mask["counts"]
    try:
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects({"counts": counts, "size": size}, size[0], size[1])
        else:
            rle = {"counts": counts.encode("ascii") if isinstance(counts, str) else counts, "size": size}
        return mask_utils.decode(rle).astype(bool)
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise DataFormatError(f"{where}: cannot decode the RLE mask ({exc})") from None


def encode_rle(mask: np.ndarray) -> dict:
    """A bool (H, W) mask as a JSON-ready COCO compressed RLE dict."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"counts": rle["counts"].decode("ascii"), "size": [int(v) for v in rle["size"]]}


def _read_records(path: Path) -> list[dict]:
    if path.suffix.lower() == ".jsonl":
        records = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataFormatError(f"{path} line {number} is not valid JSON: {exc.msg}") from None
        return records
    data = load_json(path)
    return data if isinstance(data, list) else [data]


class GeoPixInstructDataset(Sequence[GroundedSample]):
    """GeoPixInstruct samples; images are read from ``image_root / image_path`` on access."""

    def __init__(
        self, annotation_file: str | Path, image_root: str | Path, segment_all: bool = False, seed: int = 0
    ) -> None:
        self.annotation_file = Path(annotation_file)
        self.image_root = Path(image_root)
        self.seed = seed
        self.records = _read_records(self.annotation_file)
        self._items: list[tuple[int, str, Any]] = []
        for position, record in enumerate(self.records):
            _check_record(record, f"{self.annotation_file.name} record {position}")
            for k in range(len(record["instances"])):
                self._items.append((position, "referring", k))
            if segment_all:
                classes = {_class_of(inst) for inst in record["instances"]} - {None}
                self._items.extend((position, "segment_all", c) for c in sorted(classes))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> GroundedSample:  # type: ignore[override]
        position, kind, key = self._items[index]
        record = self.records[position]
        image = read_image_file(self.image_root / record["image_path"])
        rng = np.random.default_rng([self.seed, index])
        where = f"image {record['image_id']}"
        if kind == "referring":
            inst = record["instances"][key]
            mask = self._mask(inst, image.shape[:2], where)
            expression = str(inst["description"]).strip().rstrip(".")
            return GroundedSample(
                image=image,
                instruction=REFERRING_INSTRUCTIONS[0].format(expression=expression),
                answer=REFERRING_ANSWERS[int(rng.integers(len(REFERRING_ANSWERS)))],
                masks=[mask],
                classes=[_class_of(inst) or str(inst.get("category"))],
                sample_id=f"{record['image_id']}:{inst.get('instance_id', key)}",
                task="referring",
            )
        instances = [
            Instance(key, self._mask(inst, image.shape[:2], where), int(inst.get("instance_id", k)))
            for k, inst in enumerate(record["instances"])
            if _class_of(inst) == key
        ]
        scene = Scene(image=image, instances=instances, gsd=float("nan"), name=str(record["image_id"]))
        return segment_all_sample(scene, key, rng)

    @staticmethod
    def _mask(inst: dict, shape: tuple[int, int], where: str) -> np.ndarray:
        mask = decode_rle(inst["mask"], f"{where} instance {inst.get('instance_id')}")
        if mask.shape != shape:
            raise DataFormatError(f"{where}: mask size {mask.shape} differs from the image size {shape}")
        return mask


def _class_of(inst: dict) -> str | None:
    cls = class_for_label(str(inst.get("category", "")))
    return cls.name if cls else None


def _check_record(record: Any, where: str) -> None:
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected an object")
    missing = [key for key in ("image_id", "image_path", "instances") if key not in record]
    if missing:
        raise DataFormatError(f"{where}: missing key(s) {missing}")
    for k, inst in enumerate(record["instances"]):
        lacking = [key for key in ("mask", "description", "category") if key not in inst]
        if lacking:
            raise DataFormatError(f"{where} instance {k}: missing key(s) {lacking}")
