"""Segmentation as a service: requests and answers in plain data (numbers, strings, WKB), one loaded model kept.

This is what runs in the engine worker process (see :mod:`.worker`) that QGIS talks to, and what a caller without a
process boundary can use directly. Answers carry geometries as WKB bytes written by this process's own GEOS, so the
receiver parses them with whatever geometry library it trusts (QGIS with its own GEOS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .hub.registry import DEFAULT_MODEL

Event = dict[str, Any]  # {"event": "status" | "progress" | "text", ...}, see EngineService.segment


@dataclass
class SegmentRequest:
    """One instruction about one view, with the model to answer it. ``transform`` is the view's affine (a, b, c, d,
    e, f); ``ground_gsd`` its metres per pixel on the ground (None: unknown, never upsampled). ``examples``: hex
    WKB polygons or points in the view's CRS, inside the view: the answer is then every object like them, named
    ``example_phrase`` (the instruction is only recorded)."""

    instruction: str
    transform: tuple[float, ...]
    crs_wkt: str = ""
    model: str = DEFAULT_MODEL
    device: str = "auto"
    dtype: str = "auto"
    cache_dir: str | None = None
    nodata: float | None = None
    ground_gsd: float | None = None
    max_new_tokens: int | None = None
    tile_size: int | None = None
    overlap: int | None = None
    examples: list[str] = field(default_factory=list)
    example_phrase: str = "object"

    @classmethod
    def from_dict(cls, data: dict) -> SegmentRequest:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known["transform"] = tuple(float(v) for v in known.get("transform", ()))
        return cls(**known)

    @property
    def model_key(self) -> tuple:
        return (self.model, self.device, self.dtype, self.cache_dir)


@dataclass
class SegmentAnswer:
    """What came back: one feature per object (WKB in the view's CRS, phrase, label, score) and the answer text."""

    features: list[dict] = field(default_factory=list)
    reply_text: str = ""
    instruction: str = ""
    model: str = ""
    created: str = ""
    tiles: int = 1
    # phrases the model grounded, found or not, with their (singular, plural) forms: the caller rewrites the answer
    # with its own measured areas through engine.geo.summary.summary_text
    asked: list[str] = field(default_factory=list)
    forms: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "features": [dict(f, wkb=f["wkb"].hex()) for f in self.features],
            "reply_text": self.reply_text,
            "instruction": self.instruction,
            "model": self.model,
            "created": self.created,
            "tiles": self.tiles,
            "asked": list(self.asked),
            "forms": {k: list(v) for k, v in self.forms.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> SegmentAnswer:
        features = [dict(f, wkb=bytes.fromhex(f["wkb"])) for f in data.get("features", [])]
        return cls(
            features,
            data.get("reply_text", ""),
            data.get("instruction", ""),
            data.get("model", ""),
            data.get("created", ""),
            int(data.get("tiles", 1)),
            list(data.get("asked", [])),
            {k: list(v) for k, v in data.get("forms", {}).items()},
        )


def _load_engine(model: str, device: str, dtype: str, cache_dir: str | None):
    from .api import Engine

    return Engine.load(model, device=device, dtype=dtype, cache_dir=cache_dir)


class EngineService:
    """Keeps one loaded engine and answers one request at a time (the model keeps per-call state, so calls from
    several threads are serialised here)."""

    def __init__(self, loader: Callable[[str, str, str, str | None], Any] = _load_engine) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._engine = None

    def engine(self, request: SegmentRequest, on_event: Callable[[Event], None] = lambda e: None):
        """The engine for ``request``'s model, loaded now unless it is the one already in memory."""
        if self._key != request.model_key:
            on_event({"event": "status", "stage": "loading", "model": request.model})
            started = time.monotonic()
            self._engine = None  # free the old model before loading the next
            self._key = None
            self._engine = self._loader(request.model, request.device, request.dtype, request.cache_dir)
            self._key = request.model_key
            seconds = time.monotonic() - started
            on_event({"event": "status", "stage": "loaded", "model": request.model, "seconds": round(seconds, 2)})
        return self._engine

    def plan(self, request: SegmentRequest, height: int, width: int, on_event=lambda e: None) -> dict:
        """How many tiles a ``height`` x ``width`` view takes with the request's model (loads it if needed)."""
        from .geo.pipeline import view_plan

        with self._lock:
            engine = self.engine(request, on_event)
            zoom, tiles = view_plan(
                engine, height, width, request.ground_gsd, tile_size=request.tile_size, overlap=request.overlap
            )
        return {"tiles": len(tiles), "zoom": zoom}

    def segment(
        self,
        request: SegmentRequest,
        image: np.ndarray,
        on_event: Callable[[Event], None] = lambda e: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SegmentAnswer:
        """Answer ``request`` about ``image`` ((bands, H, W) any dtype, or (H, W, 3) uint8). ``on_event`` gets the
        model's loading (``status``), tiles done of total (``progress``) and the answer as it forms (``text``).
        Raises ``engine.types.Cancelled`` when ``should_stop()`` turns true."""
        from .geo.pipeline import segment_view
        from .hub.limits import check_instruction
        from .types import Cancelled

        with self._lock:
            if should_stop():
                raise Cancelled("stopped before the model ran")
            if self._key != request.model_key:  # refused before loading; a loaded engine checks it itself
                check_instruction(request.instruction, request.model, request.cache_dir)
            engine = self.engine(request, on_event)
            options = {} if request.max_new_tokens is None else {"max_new_tokens": request.max_new_tokens}
            if request.examples:
                import shapely

                options["examples"] = [shapely.from_wkb(bytes.fromhex(wkb)) for wkb in request.examples]
                options["example_phrase"] = request.example_phrase or "object"
            result = segment_view(
                image,
                request.transform,
                request.crs_wkt or None,
                request.instruction,
                engine,
                nodata=request.nodata,
                measure=False,  # the caller measures with its own geodesy
                ground_gsd=request.ground_gsd,
                tile_size=request.tile_size,
                overlap=request.overlap,
                on_progress=lambda done, total: on_event({"event": "progress", "done": done, "total": total}),
                on_text=lambda text: on_event({"event": "text", "text": text}),
                should_stop=should_stop,
                **options,
            )
        features = [
            {
                "wkb": feature.geometry.wkb,
                "phrase": feature.phrase,
                "label": feature.label,
                "score": float(feature.score),
            }
            for feature in result.features
        ]
        from .geo.summary import phrase_forms

        forms = {phrase: list(pair) for phrase, pair in phrase_forms(result.asked).items()}
        return SegmentAnswer(
            features,
            result.reply_text,
            result.instruction,
            result.model,
            result.created,
            result.tiles,
            list(result.asked),
            forms,
        )

    def clear(self) -> None:
        with self._lock:
            self._engine, self._key = None, None
