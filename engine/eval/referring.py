"""Referring segmentation metrics as reported for RRSIS-D: P@0.5, cIoU (overall IoU) and gIoU (mean IoU)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .metrics import intersection_union


class ReferringAccumulator:
    """Adds up one (predicted mask, target mask) pair at a time, so a large test set never sits in memory.

    - ``precision@0.5``: share of samples whose IoU is at least ``threshold``.
    - ``cIoU``: total intersection over total union of the whole set (large objects weigh more).
    - ``gIoU``: mean of per-sample IoUs; a sample whose prediction and target are both empty counts as 1.
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.intersection = 0
        self.union = 0
        self.ious: list[float] = []

    def add(self, pred: np.ndarray, gt: np.ndarray) -> float:
        inter, union = intersection_union(pred, gt)
        self.intersection += inter
        self.union += union
        iou = 1.0 if union == 0 else inter / union
        self.ious.append(iou)
        return iou

    def result(self) -> dict:
        if not self.ious:
            raise ValueError("no samples to score")
        return {
            f"precision@{self.threshold:g}": float(np.mean([iou >= self.threshold for iou in self.ious])),
            "cIoU": 1.0 if self.union == 0 else self.intersection / self.union,
            "gIoU": float(np.mean(self.ious)),
            "count": len(self.ious),
        }


def referring_metrics(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], threshold: float = 0.5) -> dict:
    """The metrics of :class:`ReferringAccumulator` over lists of predicted and target masks."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} targets")
    acc = ReferringAccumulator(threshold)
    for pred, gt in zip(preds, gts):
        acc.add(pred, gt)
    return acc.result()
