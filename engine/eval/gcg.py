"""Grounded conversation generation (GCG) mask metrics, following GLaMM's protocol as used for GeoPixelD.

Per image, the model gives masks (with scores and the phrases that ground them) and the reference has masks with
phrases. Over the whole set:

- AP50: COCO segmentation average precision at IoU 0.5, one category for all masks (pycocotools ``COCOeval``),
  ranking predictions by their mask scores.
- mIoU: per image, predicted and reference masks are paired one-to-one greedily by highest IoU; the image scores the
  mean IoU of its pairs (0 without any pair); the set scores the mean over images.
- Recall: share of reference masks matched by a prediction with IoU >= 0.5 whose phrase has cosine similarity
  >= 0.5 with the reference phrase (each prediction matches at most one reference; highest IoU first).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .metrics import greedy_pairs, iou_matrix
from .phrases import PhraseEncoder, cosine_matrix


@dataclass
class GroundedMasks:
    """The masks of one image with their phrases and (for predictions) confidence scores."""

    masks: list[np.ndarray]
    phrases: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.masks = [np.asarray(m, dtype=bool) for m in self.masks]
        if not self.phrases:
            self.phrases = [""] * len(self.masks)
        if not self.scores:
            self.scores = [1.0] * len(self.masks)
        if not len(self.phrases) == len(self.scores) == len(self.masks):
            raise ValueError(
                f"{len(self.masks)} masks, {len(self.phrases)} phrases and {len(self.scores)} scores must match"
            )


def _rle(mask: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


class GCGAccumulator:
    """Adds one image at a time and keeps only RLE-compressed masks, so a full test set fits in memory.

    Without an ``encoder`` the recall is not computed (phrases cannot be compared).
    """

    def __init__(
        self, encoder: PhraseEncoder | None = None, iou_threshold: float = 0.5, similarity_threshold: float = 0.5
    ) -> None:
        self.encoder = encoder
        self.iou_threshold = iou_threshold
        self.similarity_threshold = similarity_threshold
        self.images: list[dict] = []
        self.gt_anns: list[dict] = []
        self.dt_anns: list[dict] = []
        self.image_mious: list[float] = []
        self.matched = 0
        self.references = 0

    def add(self, pred: GroundedMasks, ref: GroundedMasks) -> None:
        image_id = len(self.images) + 1
        shape = _image_shape(pred, ref)
        self.images.append({"id": image_id, "height": shape[0], "width": shape[1]})
        for mask in ref.masks:
            rle = _rle(mask)
            self.gt_anns.append(
                {
                    "id": len(self.gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": 1,
                    "segmentation": rle,
                    "area": float(mask_utils.area(rle)),
                    "bbox": mask_utils.toBbox(rle).tolist(),
                    "iscrowd": 0,
                }
            )
        for mask, score in zip(pred.masks, pred.scores):
            self.dt_anns.append({"image_id": image_id, "category_id": 1, "segmentation": _rle(mask), "score": score})
        ious = iou_matrix(pred.masks, ref.masks)
        pairs = greedy_pairs(ious)
        self.image_mious.append(float(np.mean([iou for _, _, iou in pairs])) if pairs else 0.0)
        self.references += len(ref.masks)
        if self.encoder is not None and pred.masks and ref.masks:
            sims = cosine_matrix(self.encoder, pred.phrases, ref.phrases)
            ok = (ious >= self.iou_threshold) & (sims >= self.similarity_threshold)
            self.matched += len(greedy_pairs(np.where(ok, ious, 0.0)))

    def ap50(self) -> float:
        """COCO segm AP at IoU 0.5, single category; NaN when there is no reference mask at all."""
        if not self.gt_anns:
            return float("nan")
        if not self.dt_anns:
            return 0.0
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools reports progress on stdout
            gt = COCO()
            gt.dataset = {
                "images": self.images,
                "annotations": self.gt_anns,
                "categories": [{"id": 1, "name": "object"}],
            }
            gt.createIndex()
            dt = gt.loadRes(self.dt_anns)
            evaluator = COCOeval(gt, dt, iouType="segm")
            evaluator.params.imgIds = [img["id"] for img in self.images]
            evaluator.evaluate()
            evaluator.accumulate()
        iou_index = int(np.argmin(np.abs(evaluator.params.iouThrs - 0.5)))
        # precision[T, R, K, A, M]: IoU threshold, recall level, category, area range ("all" first), max detections.
        precision = evaluator.eval["precision"][iou_index, :, 0, 0, -1]
        valid = precision[precision > -1]
        return float(valid.mean()) if valid.size else 0.0

    def result(self) -> dict:
        return {
            "AP50": self.ap50(),
            "mIoU": float(np.mean(self.image_mious)) if self.image_mious else float("nan"),
            "recall": (self.matched / self.references if self.references else float("nan"))
            if self.encoder is not None
            else float("nan"),
            "count": len(self.images),
            "reference_masks": self.references,
            "predicted_masks": len(self.dt_anns),
        }


def _accumulate(
    predictions: Sequence[GroundedMasks], references: Sequence[GroundedMasks], encoder: PhraseEncoder | None = None
) -> GCGAccumulator:
    _check_lengths(predictions, references)
    acc = GCGAccumulator(encoder)
    for pred, ref in zip(predictions, references):
        acc.add(pred, ref)
    return acc


def ap50(predictions: Sequence[GroundedMasks], references: Sequence[GroundedMasks]) -> float:
    """COCO segm AP at IoU 0.5 over all images, single category; NaN when there is no reference mask at all."""
    return _accumulate(predictions, references).ap50()


def mean_iou(predictions: Sequence[GroundedMasks], references: Sequence[GroundedMasks]) -> float:
    """Mean over images of the mean IoU of greedily paired masks."""
    return _accumulate(predictions, references).result()["mIoU"]


def recall(predictions: Sequence[GroundedMasks], references: Sequence[GroundedMasks], encoder: PhraseEncoder) -> float:
    """Share of reference masks found with the right words (see the module docstring)."""
    return _accumulate(predictions, references, encoder).result()["recall"]


def _check_lengths(predictions: Sequence[GroundedMasks], references: Sequence[GroundedMasks]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predicted images for {len(references)} reference images")


def _image_shape(pred: GroundedMasks, ref: GroundedMasks) -> tuple[int, int]:
    shapes = {m.shape for m in (*pred.masks, *ref.masks)}
    if len(shapes) > 1:
        raise ValueError(f"masks of one image differ in size: {sorted(shapes)}")
    return shapes.pop() if shapes else (1, 1)
