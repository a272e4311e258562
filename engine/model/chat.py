"""Conversation template and the per-image conversation state.

Rendering: image embeddings first (they are a prefix of the LLM input, not text), then an optional system message,
then the turns, each ``<|role|>\\n{text}<|end|>\\n``. Training labels cover only the assistant's text and its
closing ``<|end|>``, the part the model must learn to produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from ..types import Turn
from .geoground.configuration import ASSISTANT_TOKEN, END_TOKEN, SYSTEM_TOKEN, USER_TOKEN

IGNORE_INDEX = -100


@dataclass(frozen=True)
class ChatTemplate:
    """Turn markers: each turn is ``{header[role]}\n{text}{end}\n``."""

    system: str
    user: str
    assistant: str
    end: str

    def header(self, role: str) -> str:
        return {"system": self.system, "user": self.user, "assistant": self.assistant}[role] + "\n"


GEOGROUND_TEMPLATE = ChatTemplate(SYSTEM_TOKEN, USER_TOKEN, ASSISTANT_TOKEN, END_TOKEN)
# InternLM2's markers (vocabulary entries of its tokenizer), used by the published GeoPixel checkpoints.
INTERNLM2_TEMPLATE = ChatTemplate(
    "[UNUSED_TOKEN_146]system", "[UNUSED_TOKEN_146]user", "[UNUSED_TOKEN_146]assistant", "[UNUSED_TOKEN_145]"
)
TEMPLATES = {"geoground": GEOGROUND_TEMPLATE, "internlm2": INTERNLM2_TEMPLATE}


def template_for(config: Any) -> ChatTemplate:
    """The template a model config names (``config.chat_template``)."""
    name = getattr(config, "chat_template", "geoground") or "geoground"
    if name not in TEMPLATES:
        raise ValueError(f"unknown chat template {name!r}; known: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


class EmptyPromptError(ValueError):
    """The question is empty or only whitespace."""


class PromptTooLongError(ValueError):
    """The question alone holds more tokens than the model reads at once."""


def check_prompt(text: str, tokenizer: Any = None, context: int | None = None) -> str:
    """``text`` stripped; refused when empty, or, given the model's tokenizer and context length (positions), when it
    alone would fill the context (the image and the answer need room too)."""
    if not isinstance(text, str) or not text.strip():
        raise EmptyPromptError("the prompt is empty: type a question or an instruction about the image")
    text = text.strip()
    if tokenizer is not None and context:
        tokens = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        if tokens >= context:
            raise PromptTooLongError(
                f"the instruction is {tokens} tokens long ({len(text):,} characters), more than the {context} tokens "
                "this model reads at once with the image and its answer; shorten it"
            )
    return text


def context_length(model: Any) -> int:
    """Positions the model's language model reads at once (``max_position_embeddings`` of its text stack)."""
    return int(model.text_model.config.max_position_embeddings)


def render(
    turns: list[Turn],
    system: str | None = None,
    add_generation_prompt: bool = True,
    template: ChatTemplate = GEOGROUND_TEMPLATE,
) -> str:
    """The conversation as text (the image prefix is not part of it)."""
    parts = [f"{template.header('system')}{system}{template.end}\n"] if system else []
    parts += [f"{template.header(turn.role)}{turn.text}{template.end}\n" for turn in turns]
    if add_generation_prompt:
        parts.append(template.header("assistant"))
    return "".join(parts)


def encode(
    tokenizer: PreTrainedTokenizerBase,
    turns: list[Turn],
    system: str | None = None,
    add_generation_prompt: bool = True,
    template: ChatTemplate = GEOGROUND_TEMPLATE,
) -> tuple[list[int], list[int]]:
    """Token ids of the rendered conversation and training labels (``-100`` outside assistant answers and their
    closing end marker). Pieces are tokenized separately at the same boundaries in training and inference."""
    ids: list[int] = []
    labels: list[int] = []

    def add(text: str, learn: bool) -> None:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids.extend(piece)
        labels.extend(piece if learn else [IGNORE_INDEX] * len(piece))

    if system:
        add(f"{template.header('system')}{system}{template.end}\n", False)
    for turn in turns:
        add(template.header(turn.role), False)
        add(f"{turn.text}{template.end}", turn.role == "assistant")
        add("\n", False)
    if add_generation_prompt:
        add(template.header("assistant"), False)
    return ids, labels


@dataclass
class Conversation:
    """A conversation about one image. The encoded image features are cached so later questions skip the encoders."""

    image: np.ndarray  # uint8 (H, W, 3) as given to the model
    valid: np.ndarray  # bool (H, W): pixels holding data
    turns: list[Turn] = field(default_factory=list)
    system: str | None = None
    features: Any = None  # model.ImageFeatures once encoded
    source: Any = field(default=None, repr=False)  # the array the caller passed, to recognise it later

    def ask(self, text: str) -> None:
        """Add a user question; answer it with ``Engine.chat(image, conversation)``."""
        self.turns.append(Turn("user", check_prompt(text)))

    @property
    def size(self) -> tuple[int, int]:
        return int(self.image.shape[0]), int(self.image.shape[1])

    @property
    def awaiting_answer(self) -> bool:
        return bool(self.turns) and self.turns[-1].role == "user"
