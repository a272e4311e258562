"""Evaluate any model on a dataset of grounded samples and write a JSON report.

A model enters either as a callable ``predict(image, instruction) -> (text, masks)`` (``masks`` being bool arrays
or :class:`~engine.types.Segment` objects, which also carry phrases and scores) or as a precomputed list of such
``(text, masks)`` pairs (or :class:`~engine.types.Reply` objects) in dataset order.
"""

from __future__ import annotations

import json
import math
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data.sample import GroundedSample, seg_phrases
from ..types import Reply, Segment
from .captions import TextMetricsUnavailableError, caption_metrics
from .gcg import GCGAccumulator, GroundedMasks
from .phrases import PhraseEncoder, load_phrase_encoder
from .referring import ReferringAccumulator

MaskLike = np.ndarray | Segment
Prediction = tuple[str, Sequence[MaskLike]] | Reply
Predictor = Callable[[np.ndarray, str], Prediction]


class EvaluationError(ValueError):
    """Predictions and dataset do not fit together."""


def as_grounded(prediction: Prediction, shape: tuple[int, int], sample_id: str) -> tuple[str, GroundedMasks]:
    """Normalise one prediction to (raw text, masks with phrases and scores)."""
    if isinstance(prediction, Reply):
        text, items = prediction.raw_text or prediction.text, list(prediction.segments)
    else:
        try:
            text, items = prediction
        except (TypeError, ValueError):
            raise EvaluationError(f"sample {sample_id}: a prediction must be (text, masks) or a Reply") from None
        items = list(items)
    parsed = seg_phrases(text)
    masks, phrases, scores = [], [], []
    for k, item in enumerate(items):
        if isinstance(item, Segment):
            mask, phrase, score = item.mask, item.phrase, item.score
        else:
            mask, phrase, score = np.asarray(item, dtype=bool), None, 1.0
        if mask.shape != shape:
            raise EvaluationError(f"sample {sample_id}: predicted mask {k} is {mask.shape}, the image is {shape}")
        if not phrase and k < len(parsed):
            phrase = parsed[k]
        masks.append(mask)
        phrases.append(phrase or "")
        scores.append(float(score))
    return text, GroundedMasks(masks, phrases, scores)


def pairs(
    predictions: Predictor | Sequence[Prediction], dataset: Sequence[GroundedSample]
) -> Iterator[tuple[GroundedSample, Prediction]]:
    """Each sample with its prediction, in one pass (images are read once); precomputed ones must line up."""
    if callable(predictions):
        for sample in dataset:
            yield sample, predictions(sample.image, sample.instruction)
        return
    predictions = list(predictions)
    if len(predictions) != len(dataset):
        raise EvaluationError(f"{len(predictions)} predictions for {len(dataset)} samples")
    yield from zip(dataset, predictions)


def evaluate_referring(
    predictions: Predictor | Sequence[Prediction], dataset: Sequence[GroundedSample], threshold: float = 0.5
) -> dict[str, Any]:
    """P@0.5, cIoU, gIoU. Each sample must have one target mask; several predicted masks count as their union."""
    started = time.perf_counter()
    acc = ReferringAccumulator(threshold)
    for sample, output in pairs(predictions, dataset):
        if len(sample.masks) != 1:
            raise EvaluationError(f"sample {sample.sample_id}: referring samples need exactly one target mask")
        shape = sample.masks[0].shape
        _, got = as_grounded(output, shape, sample.sample_id)
        acc.add(np.logical_or.reduce(got.masks) if got.masks else np.zeros(shape, dtype=bool), sample.masks[0])
    metrics = acc.result()
    metrics["seconds"] = time.perf_counter() - started
    return metrics


def evaluate_gcg(
    predictions: Predictor | Sequence[Prediction],
    dataset: Sequence[GroundedSample],
    encoder: PhraseEncoder | None = None,
    text_metrics: bool = True,
) -> dict[str, Any]:
    """AP50, mIoU, recall and (unless disabled or unavailable) METEOR and CIDEr of grounded descriptions.

    ``encoder`` compares phrases for the recall; the default is all-MiniLM-L6-v2 (see :mod:`.phrases`).
    """
    started = time.perf_counter()
    acc = GCGAccumulator(encoder or load_phrase_encoder())
    ref_texts, pred_texts = [], []
    for sample, output in pairs(predictions, dataset):
        text, got = as_grounded(output, sample.image.shape[:2], sample.sample_id)
        phrases = [p or (c or "") for p, c in zip(sample.phrases, sample.classes)]
        acc.add(got, GroundedMasks(sample.masks, phrases))
        ref_texts.append(sample.answer)
        pred_texts.append(text)
    metrics: dict[str, Any] = acc.result()
    if text_metrics and ref_texts:
        try:
            metrics.update(caption_metrics(ref_texts, pred_texts))
        except TextMetricsUnavailableError as exc:
            metrics["text_metrics_skipped"] = str(exc)
    metrics["seconds"] = time.perf_counter() - started
    return metrics


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_report(path: str | Path, metrics: dict[str, Any], **context: Any) -> Path:
    """A JSON file with the metrics (NaN written as null) and what produced them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "metrics": metrics,
        "context": {**context, "python": platform.python_version(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    }
    path.write_text(json.dumps(_json_ready(report), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
