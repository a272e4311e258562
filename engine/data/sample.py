"""The one sample type every data source produces, so training and evaluation can mix sources freely.

A grounded answer marks each mask with a ``[SEG]`` token, optionally preceded by the phrase it grounds:
``The <p> storage tank </p> [SEG] next to ...``. The i-th ``[SEG]`` of the answer owns ``masks[i]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

SEG_TOKEN = "[SEG]"  # noqa: S105 - a vocabulary token, not a secret
PHRASE_OPEN = "<p>"
PHRASE_CLOSE = "</p>"

_SEG_RE = re.compile(re.escape(SEG_TOKEN))
_GROUNDED_RE = re.compile(r"<p>(.*?)</p>\s*\[SEG\]", re.DOTALL)
_MARKUP_RE = re.compile(r"\s*(?:<p>|</p>|\[SEG\])\s*")


class DataFormatError(ValueError):
    """A dataset file or sample does not follow the expected format."""


@dataclass
class Instance:
    """One object of a scene: its class name, its visible pixels and an id unique within the scene."""

    class_name: str
    mask: np.ndarray  # bool (H, W)
    instance_id: int

    @property
    def area(self) -> int:
        return int(self.mask.sum())


@dataclass
class Scene:
    """An image with its instance masks and its ground sample distance (metres per pixel)."""

    image: np.ndarray  # uint8 (H, W, 3)
    instances: list[Instance]
    gsd: float
    name: str = ""
    # Classes known to be absent where no instance is labelled; None: every unlabelled class is absent (synthetic
    # scenes). Real scenes label some classes only, so asking them for anything else would teach wrong answers.
    absent_classes: tuple[str, ...] | None = None

    def absent(self, class_names) -> list[str]:
        """Of ``class_names``, those this scene is known to lack (safe to ask about and answer with no mask)."""
        allowed = class_names if self.absent_classes is None else [c for c in class_names if c in self.absent_classes]
        return [c for c in allowed if c not in self.classes]

    def of_class(self, class_name: str) -> list[Instance]:
        return [inst for inst in self.instances if inst.class_name == class_name]

    @property
    def classes(self) -> list[str]:
        """Class names present, in first-appearance order."""
        return list(dict.fromkeys(inst.class_name for inst in self.instances))


@dataclass
class GroundedSample:
    """An instruction about an image and its grounded answer: one mask (and class) per ``[SEG]`` in order."""

    image: np.ndarray  # uint8 (H, W, 3)
    instruction: str
    answer: str
    masks: list[np.ndarray] = field(default_factory=list)  # bool (H, W) each
    classes: list[str | None] = field(default_factory=list)
    sample_id: str = ""
    task: str = "gcg"  # "referring", "segment_all", "gcg"

    def __post_init__(self) -> None:
        image = np.asarray(self.image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise DataFormatError(
                f"sample {self.sample_id!r}: image must be uint8 (H, W, 3), got {image.dtype} {image.shape}"
            )
        self.masks = [np.asarray(m, dtype=bool) for m in self.masks]
        for mask in self.masks:
            if mask.shape != image.shape[:2]:
                raise DataFormatError(
                    f"sample {self.sample_id!r}: mask shape {mask.shape} differs from image size {image.shape[:2]}"
                )
        n_seg = count_seg(self.answer)
        if n_seg != len(self.masks):
            raise DataFormatError(
                f"sample {self.sample_id!r}: the answer has {n_seg} {SEG_TOKEN} tokens but {len(self.masks)} masks"
            )
        if not self.classes:
            self.classes = [None] * len(self.masks)
        if len(self.classes) != len(self.masks):
            raise DataFormatError(
                f"sample {self.sample_id!r}: {len(self.classes)} class labels for {len(self.masks)} masks"
            )

    @property
    def phrases(self) -> list[str | None]:
        """The phrase before each ``[SEG]`` (None where a ``[SEG]`` has no ``<p>...</p>`` right before it)."""
        return seg_phrases(self.answer)


def count_seg(text: str) -> int:
    return len(_SEG_RE.findall(text))


def seg_phrases(text: str) -> list[str | None]:
    """One entry per ``[SEG]`` in order: the stripped phrase grounding it, or None for a bare ``[SEG]``."""
    grounded = {m.end(): m.group(1).strip() for m in _GROUNDED_RE.finditer(text)}
    return [grounded.get(m.end()) for m in _SEG_RE.finditer(text)]


def strip_markup(text: str) -> str:
    """Plain text of a grounded answer: markup removed, phrases kept, spacing and punctuation tidied."""
    plain = _MARKUP_RE.sub(" ", text)
    plain = re.sub(r"\s+([,.;:!?])", r"\1", plain)
    return re.sub(r"\s+", " ", plain).strip()


def grounded(phrase: str) -> str:
    """The markup that grounds one phrase to the next mask."""
    return f"{PHRASE_OPEN} {phrase} {PHRASE_CLOSE} {SEG_TOKEN}"
