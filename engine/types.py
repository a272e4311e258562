"""Plain data types shared by the model, the geo pipeline, the CLI and the plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np


class Cancelled(Exception):  # noqa: N818 - reads as what happened, like KeyboardInterrupt
    """The caller asked to stop (``should_stop()`` returned True); nothing partial is kept."""


@dataclass
class Segment:
    """One grounded object: the phrase that names it and its mask at the input image's size."""

    phrase: str
    mask: np.ndarray  # bool, (H, W) of the image given to the engine
    score: float = 1.0  # mask confidence in [0, 1]
    label: str | None = None  # class name when the model or the instruction knows it
    # float32 (H, W) pixel probabilities the mask was thresholded from, when the model gives them
    probability: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.ndim != 2:
            raise ValueError(f"a segment mask must be 2-D, got shape {self.mask.shape}")
        if self.probability is not None and np.shape(self.probability) != self.mask.shape:
            raise ValueError(f"probability shape {np.shape(self.probability)} is not the mask's {self.mask.shape}")


@dataclass
class Reply:
    """An answer: display text (markup removed), the raw generated text, and its segments in order."""

    text: str
    segments: list[Segment] = field(default_factory=list)
    raw_text: str = ""


@dataclass
class Turn:
    """One message of a conversation about a single image."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class InferenceSettings:
    """How answers are turned into masks and views are prepared, chosen per call (never stored in the model).

    ``min_region_score``: 4-connected regions of a mask whose mean pixel probability is below it are dropped (0: keep
    all). ``max_gsd``: metres per pixel on the ground above which georeferenced imagery is upsampled before the model
    sees it (None: never). A saved model carries the values tuned for it (``from_config``).
    """

    min_region_score: float = 0.0
    max_gsd: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_region_score < 1.0:
            raise ValueError(f"min_region_score must be within [0, 1), got {self.min_region_score}")
        if self.max_gsd is not None and not self.max_gsd > 0:
            raise ValueError(f"max_gsd must be positive metres per pixel or None, got {self.max_gsd}")

    @classmethod
    def from_config(cls, config: Any) -> InferenceSettings:
        """The defaults a model config was saved with (absent: the neutral settings)."""
        return cls(float(getattr(config, "min_region_score", 0.0) or 0.0), getattr(config, "max_gsd", None))
