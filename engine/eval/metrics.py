"""Mask overlap and one-to-one matching primitives shared by the package's mask metrics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def intersection_union(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int]:
    """Pixel counts of the intersection and the union of two bool masks of the same shape."""
    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"mask shapes differ: prediction {pred.shape}, ground truth {gt.shape}")
    return int(np.logical_and(pred, gt).sum()), int(np.logical_or(pred, gt).sum())


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Intersection over union; two empty masks agree perfectly (IoU 1)."""
    inter, union = intersection_union(pred, gt)
    return 1.0 if union == 0 else inter / union


def iou_matrix(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray]) -> np.ndarray:
    """(len(preds), len(gts)) IoUs, computed as one matrix product over flattened masks."""
    if not preds or not gts:
        return np.zeros((len(preds), len(gts)))
    p = np.stack([np.asarray(m, dtype=bool).ravel() for m in preds]).astype(np.float64)
    g = np.stack([np.asarray(m, dtype=bool).ravel() for m in gts]).astype(np.float64)
    if p.shape[1] != g.shape[1]:
        raise ValueError("predicted and ground-truth masks have different sizes")
    inter = p @ g.T
    union = p.sum(1)[:, None] + g.sum(1)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 1.0)


def greedy_pairs(scores: np.ndarray) -> list[tuple[int, int, float]]:
    """One-to-one pairs by repeatedly taking the highest remaining score (ties: first in row-major order).

    Pairing stops when the best remaining score is 0, so objects that do not overlap at all stay unpaired.
    """
    scores = np.array(scores, dtype=float)
    pairs: list[tuple[int, int, float]] = []
    while scores.size and scores.max() > 0:
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        pairs.append((int(i), int(j), float(scores[i, j])))
        scores[i, :] = -np.inf
        scores[:, j] = -np.inf
    return pairs


def matched_pairs(scores: np.ndarray, threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """The one-to-one pairs of :func:`greedy_pairs` with an IoU of at least ``threshold``: what instance recall and
    precision count as found."""
    return [pair for pair in greedy_pairs(scores) if pair[2] >= threshold]


def paired_ious(scores: np.ndarray) -> list[float]:
    """Per column (ground-truth instance) of an IoU matrix, the IoU of the row :func:`greedy_pairs` gives it (0 when
    none): a score for every instance, also the missed ones."""
    ious = [0.0] * np.shape(scores)[1]
    for _, j, iou in greedy_pairs(scores):
        ious[j] = iou
    return ious
