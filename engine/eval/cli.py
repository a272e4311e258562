"""Command-line evaluation: pick a dataset, a source of predictions, the task; get a JSON report.

Predictions come from a predictions file (see :func:`save_predictions`) or from a ``predict`` callable handed to
:func:`run` by whoever builds the model (the engine's command-line entry point does that).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ..data.geopixeld import GeoPixelDDataset, load_json
from ..data.geopixinstruct import decode_rle, encode_rle
from ..data.rrsisd import RRSISDDataset
from ..data.sample import DataFormatError, GroundedSample
from ..types import Segment
from .run import EvaluationError, Prediction, Predictor, as_grounded, evaluate_gcg, evaluate_referring, write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=("referring", "gcg"), required=True, help="metric family")
    parser.add_argument("--format", choices=("geopixeld", "rrsisd"), required=True, help="dataset layout")
    parser.add_argument("--index", type=Path, help="GeoPixelD index JSON")
    parser.add_argument("--root", type=Path, help="GeoPixelD root the index paths are relative to")
    parser.add_argument("--refs", type=Path, help="RRSIS-D refs(unc).p or refs JSON")
    parser.add_argument("--instances", type=Path, help="RRSIS-D instances.json")
    parser.add_argument("--images", type=Path, help="RRSIS-D image folder")
    parser.add_argument("--split", default="test", help="RRSIS-D split (default: test)")
    parser.add_argument("--limit", type=int, help="evaluate only the first N samples")
    parser.add_argument("--predictions", type=Path, help="predictions JSON written by save_predictions")
    parser.add_argument("--encoder", type=Path, help="local sentence-encoder folder for the GCG recall")
    parser.add_argument("--no-text-metrics", action="store_true", help="skip METEOR and CIDEr (no Java needed)")
    parser.add_argument("--report", type=Path, required=True, help="where to write the JSON report")


def load_dataset(args: argparse.Namespace) -> Sequence[GroundedSample]:
    if args.format == "geopixeld":
        if args.index is None:
            raise DataFormatError("--format geopixeld needs --index")
        dataset: Sequence[GroundedSample] = GeoPixelDDataset(args.index, args.root)
    else:
        missing = [name for name in ("refs", "instances", "images") if getattr(args, name) is None]
        if missing:
            raise DataFormatError(f"--format rrsisd needs --{' --'.join(missing)}")
        dataset = RRSISDDataset(args.refs, args.instances, args.images, split=args.split or None)
    if args.limit is not None:
        dataset = [dataset[i] for i in range(min(args.limit, len(dataset)))]
    return dataset


def save_predictions(path: str | Path, dataset: Sequence[GroundedSample], predictions: Sequence[Prediction]) -> Path:
    """Model outputs as JSON (masks as COCO RLE), keyed by sample id, so they can be scored again later."""
    if len(predictions) != len(dataset):
        raise EvaluationError(f"{len(predictions)} predictions for {len(dataset)} samples")
    records = []
    for sample, prediction in zip(dataset, predictions):
        text, got = as_grounded(prediction, sample.image.shape[:2], sample.sample_id)
        records.append(
            {
                "sample_id": sample.sample_id,
                "text": text,
                "masks": [encode_rle(m) for m in got.masks],
                "phrases": got.phrases,
                "scores": got.scores,
            }
        )
    path = Path(path)
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def load_predictions(path: str | Path, dataset: Sequence[GroundedSample]) -> list[Prediction]:
    """Predictions of a file written by :func:`save_predictions`, in dataset order."""
    records = load_json(Path(path))
    if not isinstance(records, list):
        raise DataFormatError(f"{path}: expected a JSON list of predictions")
    by_id = {str(r.get("sample_id")): r for r in records if isinstance(r, dict)}
    out: list[Prediction] = []
    for sample in dataset:
        record = by_id.get(sample.sample_id)
        if record is None:
            raise EvaluationError(f"{path}: no prediction for sample {sample.sample_id}")
        masks = [decode_rle(m, f"prediction {sample.sample_id}") for m in record.get("masks", [])]
        phrases = record.get("phrases") or [""] * len(masks)
        scores = record.get("scores") or [1.0] * len(masks)
        segments = [Segment(phrase=p, mask=m, score=float(s)) for m, p, s in zip(masks, phrases, scores)]
        out.append((str(record.get("text", "")), segments))
    return out


def run(args: argparse.Namespace, predict: Predictor | None = None) -> dict:
    """Evaluate and write the report; returns the metrics."""
    dataset = load_dataset(args)
    if args.predictions is not None:
        predictions: Predictor | list[Prediction] = load_predictions(args.predictions, dataset)
    elif predict is not None:
        predictions = predict
    else:
        raise EvaluationError("give --predictions FILE (or run through the engine command that loads a model)")
    if args.task == "referring":
        metrics = evaluate_referring(predictions, dataset)
    else:
        from .phrases import load_phrase_encoder

        encoder = load_phrase_encoder(args.encoder)
        metrics = evaluate_gcg(predictions, dataset, encoder=encoder, text_metrics=not args.no_text_metrics)
    write_report(args.report, metrics, task=args.task, format=args.format, samples=len(dataset))
    return metrics


def main(argv: Sequence[str] | None = None, predict: Predictor | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate grounded segmentation predictions.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        metrics = run(args, predict)
    except ValueError as exc:  # our errors are ValueError subclasses with a one-line message
        parser.exit(2, f"error: {exc}\n")
    print(json.dumps({k: v for k, v in metrics.items() if isinstance(v, (int, float))}, indent=2))
    return 0
