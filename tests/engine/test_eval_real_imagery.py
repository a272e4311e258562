"""The real-imagery report's scoring: instance matching from label images, box IoUs, and the label readers."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from engine.eval.real_imagery import box_ious, dota_truth, label_image, label_ious, recall_precision


def test_label_ious_match_the_pixel_definition():
    truth = label_image([box(0, 0, 10, 10), box(20, 0, 30, 10)], (20, 40))
    pred = label_image([box(0, 0, 10, 5), box(20, 0, 30, 10), box(32, 12, 38, 18)], (20, 40))
    scores = label_ious(pred, truth)
    assert scores.shape == (3, 2)
    assert scores[0, 0] == pytest.approx(0.5) and scores[1, 1] == pytest.approx(1.0)
    assert scores[2].sum() == 0 and scores[0, 1] == 0
    report = recall_precision(scores)
    assert (report["matched"], report["recall@0.5"], report["precision@0.5"]) == (2, 1.0, pytest.approx(2 / 3))


def test_a_region_split_in_two_matches_once_at_most():
    truth = label_image([box(0, 0, 20, 10)], (10, 20))
    pred = label_image([box(0, 0, 9, 10), box(11, 0, 20, 10)], (10, 20))
    assert recall_precision(label_ious(pred, truth))["matched"] == 0  # halves are below 0.5 each


def test_box_ious():
    scores = box_ious(np.array([[0, 0, 10, 10], [5, 5, 15, 15]]), np.array([[0, 0, 10, 10]]))
    assert scores[:, 0] == pytest.approx([1.0, 25 / 175])
    assert box_ious(np.zeros((0, 4)), np.array([[0, 0, 1, 1]])).shape == (0, 1)


def test_dota_quads_by_model_class(tmp_path):
    labels = tmp_path / "P1.txt"
    labels.write_text(
        "imagesource:GoogleEarth\ngsd:0.25\n"
        "10 10 20 10 20 20 10 20 ship 0\n30 30 40 30 40 40 30 40 small-vehicle 1\n"
        "50 50 60 50 60 60 50 60 large-vehicle 0\n0 0 5 0 5 5 0 5 harbor 0\n"
    )
    truth = dota_truth(labels, (64, 64))
    assert set(truth) == {"ship", "vehicle"}
    assert truth["ship"].max() == 1 and truth["vehicle"].max() == 2
    assert (truth["ship"] > 0).sum() == 100
