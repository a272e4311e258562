"""The grounded-text parser gives one phrase per [SEG] and clean display text, also on malformed answers."""

from __future__ import annotations

import pytest

from engine.model.grounded_text import parse_grounded


@pytest.mark.parametrize(
    ("raw", "text", "phrases"),
    [
        (
            "The <p> tennis court-1 </p> [SEG] is at the right of the <p> pool </p> [SEG].",
            "The tennis court-1 is at the right of the pool.",
            ["tennis court-1", "pool"],
        ),
        ("No objects here.", "No objects here.", []),
        ("A <p>storage   tank</p>[SEG] near a road", "A storage tank near a road", ["storage tank"]),
        ("Missing close <p> white ship [SEG] in port", "Missing close white ship in port", ["white ship"]),
        ("Just a mask [SEG] here", "Just a mask here", [""]),
        ("[SEG][SEG]", "", ["", ""]),
        ("Nested <p> the <p> red </p> roof </p> [SEG]", "Nested the red roof", ["the red roof"]),
        ("Stray </p> close <p>car</p> [SEG]", "Stray close car", ["car"]),
        ("Gap <p>plane</p> parked [SEG]", "Gap plane parked", ["plane"]),
        ("Two <p>a</p> <p>b</p> [SEG]", "Two a b", ["b"]),
        ("Case <P>Bridge</P> [seg]", "Case Bridge", ["Bridge"]),
        ("Reused <p>x</p> [SEG] then [SEG]", "Reused x then", ["x", ""]),
        ("Line one <p>tank</p> [SEG]\n  Line two .", "Line one tank\nLine two.", ["tank"]),
        ("Unclosed at end <p> dangling", "Unclosed at end dangling", []),
    ],
)
def test_parse(raw, text, phrases):
    parsed = parse_grounded(raw)
    assert parsed.text == text
    assert parsed.phrases == phrases
    assert len(parsed.phrases) == raw.upper().count("[SEG]")
