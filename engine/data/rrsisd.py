"""Reader for RRSIS-D (referring remote-sensing image segmentation), which uses the RefCOCO "refer" layout.

Files: ``refs(unc).p`` (a pickled list of refs ``{ref_id, ann_id, image_id, split, sentences: [{sent, ...}]}``; a JSON
file with the same list is accepted too), ``instances.json`` (COCO: images with ``file_name``, annotations with
``segmentation`` as polygons or RLE) and an image folder. Each sentence of each ref is one referring sample.

The pickle is read with an unpickler that refuses every class, so it can only produce plain lists, dicts, strings
and numbers: a tampered file raises instead of running code.
"""

from __future__ import annotations

import io
import pickle  # noqa: S403 - restricted to builtin containers below
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from .geopixeld import load_json
from .raster import read_image_file
from .sample import DataFormatError, GroundedSample
from .templates import REFERRING_ANSWERS, REFERRING_INSTRUCTIONS, class_for_label


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise DataFormatError(f"refusing to load {module}.{name} from a refs pickle: only plain data is allowed")


def load_refs(path: str | Path) -> list[dict]:
    """The refs list from a refer-style pickle (plain data only) or from a JSON file."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"refs file not found: {path}")
    if path.suffix.lower() == ".json":
        refs = load_json(path)
    else:
        try:
            refs = _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            raise DataFormatError(f"{path} is not a readable refs pickle: {exc}") from None
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise DataFormatError(f"{path}: expected a list of ref objects")
    return refs


def segmentation_mask(segmentation: Any, height: int, width: int, where: str) -> np.ndarray:
    """A COCO annotation's segmentation (polygon list, uncompressed or compressed RLE) as bool (H, W)."""
    try:
        if isinstance(segmentation, list):
            rles = mask_utils.frPyObjects(segmentation, height, width)
            rle = mask_utils.merge(rles)
        elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        elif isinstance(segmentation, dict):
            counts = segmentation["counts"]
            rle = {"counts": counts.encode("ascii") if isinstance(counts, str) else counts, "size": [height, width]}
        else:
            raise TypeError(f"unsupported segmentation type {type(segmentation).__name__}")
        return mask_utils.decode(rle).astype(bool)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise DataFormatError(f"{where}: cannot decode the segmentation ({exc})") from None


class RRSISDDataset(Sequence[GroundedSample]):
    """RRSIS-D referring samples of one split (all splits when ``split`` is None)."""

    def __init__(
        self, refs_file: str | Path, instances_file: str | Path, image_dir: str | Path, split: str | None = "test"
    ) -> None:
        self.image_dir = Path(image_dir)
        refs = load_refs(refs_file)
        coco = load_json(Path(instances_file))
        if not isinstance(coco, dict) or "images" not in coco or "annotations" not in coco:
            raise DataFormatError(f"{instances_file}: expected a COCO file with 'images' and 'annotations'")
        self.images = {img["id"]: img for img in coco["images"]}
        self.annotations = {ann["id"]: ann for ann in coco["annotations"]}
        self.categories = {cat["id"]: cat.get("name", "") for cat in coco.get("categories", [])}
        self._items: list[tuple[dict, str, int]] = []
        for ref in refs:
            if split is not None and ref.get("split") != split:
                continue
            if ref.get("ann_id") not in self.annotations or ref.get("image_id") not in self.images:
                raise DataFormatError(f"ref {ref.get('ref_id')}: unknown ann_id or image_id")
            for k, sentence in enumerate(ref.get("sentences", [])):
                text = sentence.get("sent") or sentence.get("raw") if isinstance(sentence, dict) else None
                if not text:
                    raise DataFormatError(f"ref {ref.get('ref_id')}: sentence {k} has no 'sent' text")
                self._items.append((ref, str(text).strip(), k))

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> GroundedSample:  # type: ignore[override]
        ref, sentence, k = self._items[index]
        info = self.images[ref["image_id"]]
        image = read_image_file(self.image_dir / info["file_name"])
        ann = self.annotations[ref["ann_id"]]
        mask = segmentation_mask(ann["segmentation"], image.shape[0], image.shape[1], f"annotation {ann['id']}")
        label = self.categories.get(ann.get("category_id"), "")
        cls = class_for_label(label) if label else None
        return GroundedSample(
            image=image,
            instruction=REFERRING_INSTRUCTIONS[0].format(expression=sentence),
            answer=REFERRING_ANSWERS[0],
            masks=[mask],
            classes=[cls.name if cls else (label or None)],
            sample_id=f"{ref.get('ref_id')}:{k}",
            task="referring",
        )
