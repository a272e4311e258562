"""Evaluation: referring segmentation (P@0.5, cIoU, gIoU) and grounded conversation (AP50, mIoU, recall, METEOR,
CIDEr), for any model given as a ``predict(image, instruction) -> (text, masks)`` callable. The demo model card's
numbers and figures (:mod:`.model_card`) and real imagery through the geo pipeline (:mod:`.real_imagery`) are
commands of their own."""

from .gcg import GCGAccumulator, GroundedMasks, ap50, mean_iou, recall
from .metrics import greedy_pairs, intersection_union, iou_matrix, mask_iou, matched_pairs, paired_ious
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
    "matched_pairs",
    "mean_iou",
    "paired_ious",
    "recall",
    "referring_metrics",
    "write_report",
]
