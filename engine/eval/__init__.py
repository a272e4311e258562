"""Evaluation: referring segmentation (P@0.5, cIoU, gIoU) and grounded conversation (AP50, mIoU, recall, METEOR,
CIDEr), for any model given as a ``predict(image, instruction) -> (text, masks)`` callable."""

from .gcg import GCGAccumulator, GroundedMasks, ap50, mean_iou, recall
from .metrics import greedy_pairs, intersection_union, iou_matrix, mask_iou
from .referring import ReferringAccumulator, referring_metrics
from .run import EvaluationError, evaluate_gcg, evaluate_referring, write_report

__all__ = [
    "EvaluationError",
    "GCGAccumulator",
    "GroundedMasks",
    "ReferringAccumulator",
    "ap50",
    "evaluate_gcg",
    "evaluate_referring",
    "greedy_pairs",
    "intersection_union",
    "iou_matrix",
    "mask_iou",
    "mean_iou",
    "recall",
    "referring_metrics",
    "write_report",
]
