"""One interface for every model family, in the manner of transformers' auto classes.

A family says how its models are loaded, how an image and a conversation become the LLM's input, how the answer is
decoded, and which mask logits each grounded phrase gets. Everything after that is shared and lives here: a segment's
mask is its logits above 0 on pixels that hold data, its ``score`` is the mean probability of its pixels (one meaning
for all families), and the region filter drops 4-connected regions whose mean probability is below the caller's
``min_region_score``. The table from ``config.json``'s ``model_type`` to families is :data:`FAMILIES`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors import SafetensorError

from ..errors import ModelNotFoundError, first_line
from ..types import InferenceSettings, Segment

# model_type -> "module:class" of its family, relative to this package; imported only when a model of that type loads.
FAMILIES = {
    "geoground": ".geoground.family:GeoGroundFamily",
    "geopix": ".geopix.family:GeoPixFamily",
}


def family_class(model_type: str) -> type[ModelFamily]:
    """The family of a ``model_type`` (``ValueError`` for one the engine does not know)."""
    if model_type not in FAMILIES:
        raise ValueError(f"unknown model type {model_type!r}; known: {', '.join(FAMILIES)}")
    module, _, name = FAMILIES[model_type].partition(":")
    return getattr(importlib.import_module(module, __package__), name)


@dataclass
class Grounding:
    """What one generated answer grounds: the display text, its phrases, and per [SEG] the mask logits at the
    image's size with the class the model names (None when it names none)."""

    text: str
    phrases: list[str]
    logits: list[torch.Tensor]  # float (H, W) each
    labels: list[str | None]


class ModelFamily(ABC):
    """A loaded model of one family and its tokenizer; stateless between calls (per-image state lives in the
    :class:`~engine.model.chat.Conversation`)."""

    model_type: ClassVar[str]

    def __init__(self, model: Any, tokenizer: Any, folder: Path | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.folder = folder

    @classmethod
    @abstractmethod
    def from_folder(
        cls, folder: Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
    ) -> ModelFamily:
        """The model saved in ``folder``, in eval mode, loaded straight into ``dtype`` on ``device`` (see
        :func:`load_pretrained`). Raises :class:`~engine.errors.ModelNotFoundError` when the folder does not hold
        exactly the weights and tokenizer its config describes."""

    @classmethod
    @abstractmethod
    def tokenizer_from(cls, folder: Path) -> Any:
        """The tokenizer saved in ``folder`` (:class:`~engine.errors.ModelNotFoundError` when it has none usable)."""

    @staticmethod
    @abstractmethod
    def context_in(config: dict) -> int | None:
        """Positions the language model reads at once, from a saved ``config.json`` (None when it does not say)."""

    @property
    @abstractmethod
    def view_size(self) -> int:
        """The image side the model sees at full detail: larger views are better tiled."""

    def default_settings(self) -> InferenceSettings:
        """The inference settings tuned for this model and saved with it (none: the neutral ones)."""
        return InferenceSettings.from_config(self.model.config)

    @abstractmethod
    def encode_image(self, image: np.ndarray) -> Any:
        """``uint8 (H, W, 3)`` -> the features the prompt and the masks are made from (cached per conversation)."""

    @abstractmethod
    def prompt(self, conversation: Any) -> torch.Tensor:
        """``(T, hidden)`` LLM input for the conversation's last question (its features already encoded)."""

    @abstractmethod
    def decode(self, conversations: list[Any], embeds: torch.Tensor, options: dict) -> list:
        """Generation results for equally long prompts ``(B, T, hidden)`` (``engine.model.generation`` options)."""

    @abstractmethod
    def ground(self, conversation: Any, result: Any) -> Grounding:
        """The text, phrases and per-[SEG] mask logits of one generation result."""

    def segments(self, conversation: Any, result: Any, settings: InferenceSettings) -> tuple[str, list[Segment]]:
        """The display text and the segments of one generation result, the same way for every family."""
        grounding = self.ground(conversation, result)
        segments = []
        for n, logits in enumerate(grounding.logits):
            phrase = grounding.phrases[n] if n < len(grounding.phrases) else ""
            segments.append(make_segment(logits, conversation.valid, settings, phrase, grounding.labels[n]))
        return grounding.text, segments

    # --- example prompts ("find all like these"); families whose models take none keep these refusals ----------
    @property
    def takes_examples(self) -> bool:
        """Whether the model finds objects like example masks (it has an example encoder)."""
        return False

    def example_prototypes(self, image: np.ndarray, masks: torch.Tensor) -> Any:
        """The prototypes of examples given as masks ``(K, H, W)`` on ``image`` (see :meth:`find_like`)."""
        raise ExamplesNotSupportedError(f"{self.model_type} models take text prompts only, not examples")

    def find_like(self, images: list[np.ndarray], prototypes: Any) -> list[torch.Tensor]:
        """Per image, the ``(H, W)`` mask logits of everything like the examples."""
        raise ExamplesNotSupportedError(f"{self.model_type} models take text prompts only, not examples")


class ExamplesNotSupportedError(ValueError):
    """The model has no example encoder: it cannot be asked to find objects like examples."""


def make_segment(
    logits: torch.Tensor, valid: np.ndarray, settings: InferenceSettings, phrase: str, label: str | None
) -> Segment:
    """A segment from mask logits at the image's size: logits above 0 on valid pixels, weak regions dropped."""
    logits = logits.float()
    probability = logits.sigmoid().cpu().numpy()
    mask = (logits > 0).cpu().numpy() & valid
    if settings.min_region_score > 0:
        from ..geo.vectorize import drop_weak_regions

        mask = drop_weak_regions(mask, probability, settings.min_region_score)
    return Segment(phrase, mask, mask_score(mask, probability), label, probability)


def load_pretrained(
    model_class: Any, folder: Path, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> Any:
    """``model_class.from_pretrained(folder)`` in eval mode, or :class:`~engine.errors.ModelNotFoundError`.

    The model is built on the meta device and filled from the memory-mapped safetensors straight in ``dtype`` on
    ``device``, so a bf16 7B model never has a float32 copy in host RAM. transformers initialises a missing or
    misshapen weight at random and only logs it: such a model would answer, wrongly, so any missing, unexpected or
    misshapen weight refuses the folder instead. Only safetensors are read (no pickles).
    """
    device = torch.device(device)
    options: dict[str, Any] = {"dtype": dtype, "use_safetensors": True, "output_loading_info": True}
    options["ignore_mismatched_sizes"] = True  # reported in the loading info below rather than raised as a long text
    if device.type != "cpu":
        options["device_map"] = {"": device}
    try:
        model, info = model_class.from_pretrained(folder, **options)
    except (torch.OutOfMemoryError, MemoryError):
        raise  # not the folder's fault: callers turn these into their own messages
    except SafetensorError as error:
        raise ModelNotFoundError(
            f"{folder} holds unreadable (truncated or corrupt) safetensors: {first_line(error)}"
        ) from error
    except Exception as error:  # OSError (no weights file), JSON and config errors: one line, the engine's type
        raise ModelNotFoundError(f"{folder} does not load as a model: {first_line(error)}") from error
    problems = weight_problems(info)
    if problems:
        raise ModelNotFoundError(f"{folder} does not hold the weights its config.json describes: {problems}")
    return model.eval()


def weight_problems(info: dict[str, Any]) -> str:
    """What transformers' loading info says is wrong with a checkpoint, in one line ("" when nothing is)."""

    def some(kind: str, items: list[str]) -> list[str]:
        if not items:
            return []
        more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
        return [f"{kind} {items[0]}{more}"]

    mismatched = [
        f"{key} (shape {list(found)} in the file, {list(wanted)} in the model)"
        for key, found, wanted in sorted(info.get("mismatched_keys") or ())
    ]
    parts = some("missing weight", sorted(info.get("missing_keys") or ()))
    parts += some("misshapen weight", mismatched)
    parts += some("unexpected weight", sorted(info.get("unexpected_keys") or ()))
    parts += some("error", [first_line(Exception(str(m))) for m in info.get("error_msgs") or ()])
    return "; ".join(parts)


def positive_int(value: Any) -> int | None:
    """``value`` when it is a positive integer (a config entry read as JSON), else None."""
    return value if isinstance(value, int) and value > 0 else None


def load_tokenizer(loader: Callable[[Path], Any], folder: Path) -> Any:
    """``loader(folder)``, or :class:`~engine.errors.ModelNotFoundError` naming the folder: a model folder without a
    usable tokenizer cannot answer."""
    if not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer.model")):
        raise ModelNotFoundError(f"{folder} has no tokenizer (tokenizer.json or tokenizer.model)")
    try:
        return loader(folder)
    except Exception as error:
        raise ModelNotFoundError(f"{folder} has no usable tokenizer: {first_line(error)}") from error


def mask_score(mask: np.ndarray, probability: np.ndarray) -> float:
    """A segment's score: the mean probability of its pixels (0 for an empty mask)."""
    return float(probability[mask].mean()) if mask.any() else 0.0
