"""Parse grounded answers: ``The <p> tank </p> [SEG] near the <p> road </p> [SEG].``

Every [SEG] produces one mask, so the parser returns exactly one phrase per [SEG] (empty when the model gave none)
and the answer as display text without markup. Model output is not always well formed; the rules are:

* a phrase is the text between an outermost ``<p>`` and its matching ``</p>`` (nested tags are flattened);
* a [SEG] takes the latest closed phrase not yet used, even when words come between ``</p>`` and [SEG];
* a [SEG] inside an open ``<p>`` (missing ``</p>``) closes it and takes its text;
* a stray ``</p>`` is ignored; a [SEG] with no phrase gets ``""``;
* whitespace inside phrases is collapsed; tag case is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARKUP = re.compile(r"(<p>|</p>|\[SEG\])", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?)\]])")


@dataclass
class GroundedText:
    text: str
    phrases: list[str]


def _squash(text: str) -> str:
    return " ".join(text.split())


def clean_text(text: str) -> str:
    """Display text: markup removed, runs of spaces collapsed, no space before punctuation, lines trimmed."""
    text = _MARKUP.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text))
    return "\n".join(line.strip() for line in text.strip().splitlines())


def parse_grounded(text: str) -> GroundedText:
    phrases: list[str] = []
    depth = 0
    current: list[str] = []
    closed: str | None = None
    for piece in _MARKUP.split(text):
        tag = piece.lower()
        if tag == "<p>":
            depth += 1
            if depth == 1:
                current = []
        elif tag == "</p>":
            if depth > 0:
                depth -= 1
                if depth == 0:
                    closed = _squash("".join(current))
        elif tag == "[seg]":
            if depth > 0:
                closed, depth = _squash("".join(current)), 0
            phrases.append(closed or "")
            closed = None
        elif depth > 0:
            current.append(piece)
    return GroundedText(clean_text(text), phrases)
