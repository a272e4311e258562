"""Mask overlap primitives and referring-segmentation metrics on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from engine.eval.metrics import greedy_pairs, intersection_union, iou_matrix, mask_iou, matched_pairs, paired_ious
from engine.eval.referring import ReferringAccumulator, referring_metrics


def _rect(r0, r1, c0, c1, shape=(10, 10)):
    mask = np.zeros(shape, bool)
    mask[r0:r1, c0:c1] = True
    return mask


def test_iou_of_overlapping_rectangles():
    a = _rect(0, 2, 0, 4)  # 8 px
    b = _rect(0, 2, 2, 6)  # 8 px, overlapping a on columns 2-3: 4 px
    # I = 4, U = 8 + 8 - 4 = 12, IoU = 1/3
    assert intersection_union(a, b) == (4, 12)
    assert mask_iou(a, b) == pytest.approx(1 / 3)
    assert mask_iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0  # empty vs empty agree
    with pytest.raises(ValueError, match="shapes differ"):
        mask_iou(a, np.zeros((3, 3), bool))


def test_iou_matrix_matches_pairwise_iou():
    preds = [_rect(0, 2, 0, 4), _rect(5, 7, 5, 7)]
    gts = [_rect(0, 2, 2, 6), _rect(5, 7, 5, 7), _rect(9, 10, 9, 10)]
    # [[1/3, 0, 0], [0, 1, 0]]
    assert np.allclose(iou_matrix(preds, gts), [[1 / 3, 0, 0], [0, 1, 0]])
    assert iou_matrix([], gts).shape == (0, 3)


def test_greedy_pairs_take_the_best_remaining_pair_first():
    scores = np.array([[0.6, 0.7], [0.1, 0.9]])
    # Best is 0.9 (row 1, col 1); what is left is row 0 with col 0: 0.6. Not 0.7 + 0.1.
    assert greedy_pairs(scores) == [(1, 1, 0.9), (0, 0, 0.6)]


def test_matches_are_greedy_pairs_over_the_threshold_and_every_instance_gets_its_pair_iou():
    scores = np.array([[0.6, 0.7, 0.0], [0.1, 0.9, 0.0]])
    assert matched_pairs(scores) == [(1, 1, 0.9), (0, 0, 0.6)]
    assert matched_pairs(scores, 0.7) == [(1, 1, 0.9)]
    assert paired_ious(scores) == [0.6, 0.9, 0.0]  # column 2 overlaps nothing: 0
    assert paired_ious(np.zeros((0, 2))) == [0.0, 0.0]
    assert greedy_pairs(np.array([[0.0, 0.0]])) == []  # no overlap, no pair


def test_referring_metrics_by_hand():
    gt1, pred1 = _rect(0, 2, 0, 4), _rect(0, 2, 0, 2)  # I = 4, U = 8, IoU = 0.5
    gt2, pred2 = _rect(0, 4, 0, 4), _rect(0, 4, 2, 6)  # I = 8, U = 24, IoU = 1/3
    gt3, pred3 = _rect(0, 1, 0, 4), _rect(0, 1, 0, 4)  # I = 4, U = 4, IoU = 1
    metrics = referring_metrics([pred1, pred2, pred3], [gt1, gt2, gt3])
    # P@0.5: IoUs 0.5, 1/3, 1 -> two of three reach 0.5 = 2/3
    assert metrics["precision@0.5"] == pytest.approx(2 / 3)
    # cIoU = (4 + 8 + 4) / (8 + 24 + 4) = 16 / 36
    assert metrics["cIoU"] == pytest.approx(16 / 36)
    # gIoU = (0.5 + 1/3 + 1) / 3 = 11/18
    assert metrics["gIoU"] == pytest.approx(11 / 18)
    assert metrics["count"] == 3


def test_empty_prediction_for_empty_target_counts_as_perfect():
    acc = ReferringAccumulator()
    empty = np.zeros((4, 4), bool)
    assert acc.add(empty, empty) == 1.0
    acc.add(empty, _rect(0, 1, 0, 1, (4, 4)))  # missed target: IoU 0
    result = acc.result()
    # gIoU = (1 + 0) / 2; cIoU = 0 / (0 + 1) = 0; P@0.5 = 1 / 2
    assert result["gIoU"] == 0.5 and result["cIoU"] == 0.0 and result["precision@0.5"] == 0.5
    with pytest.raises(ValueError, match="no samples"):
        ReferringAccumulator().result()
