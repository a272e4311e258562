"""The answer to a "segment all" question, written from the polygons themselves.

A grounded answer's own words ("Sure, <p> storage tanks </p> [SEG].") say nothing about how many objects the
mask holds, and a tiled answer has one text per tile; so counts and areas are written from the objects found, and
a phrase the model grounded with an empty mask becomes "no ships". The text never contradicts the layer.

Pure Python (no GIS libraries): the QGIS plugin calls :func:`summary_text` too, with areas measured by QGIS and
the phrase forms the engine sent.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

# Requests for a description of the whole view, rather than for one kind of object.
DESCRIBE = re.compile(
    r"^\W*(please\W+)?(describe|summari[sz]e|give (me )?(an? )?(overview|description|summary)"
    r"|what (can|do) you see|what('s| is) (in|on|there in) (this|the))\b",
    re.IGNORECASE,
)


def describe_questions(instruction: str) -> list[str] | None:
    """For a request to describe the view, one "segment all" question per class the engine knows (their answers make
    a grounded description); None for any other instruction."""
    if not DESCRIBE.search(instruction):
        return None
    from ..data.templates import CLASSES

    return [f"Segment all {c.plural}." for c in CLASSES]


Forms = dict[str, tuple[str, str]]  # phrase -> (singular, plural)


def phrase_forms(phrases: Iterable[str]) -> Forms:
    """Singular and plural of each phrase: the engine's class words ("storage tanks" -> ("storage tank", "storage
    tanks")), else English ending rules."""
    from ..data.templates import CLASSES

    table = {}
    for c in CLASSES:
        for single, many in zip(c.all_singulars, c.all_plurals):
            table[single], table[many] = (single, many), (single, many)
    return {p: table.get(p.strip().lower()) or _english_forms(p.strip()) for p in phrases}


def _english_forms(phrase: str) -> tuple[str, str]:
    """A phrase outside the class words: the usual English ending rules ("discs" <-> "disc")."""
    if phrase.endswith(("ches", "shes", "sses", "xes")):
        return phrase[:-2], phrase
    if phrase.endswith("s") and not phrase.endswith("ss"):
        return phrase[:-1], phrase
    if phrase.endswith(("ch", "sh", "ss", "x")):
        return phrase, phrase + "es"
    return phrase, phrase + "s"


def _count(n: int, phrase: str, forms: Forms) -> str:
    single, many = forms.get(phrase, (phrase, phrase))
    return f"{n} {single if n == 1 else many}"


def _area(total: float) -> str:
    if total >= 1e6:
        return f"{total / 1e6:,.2f} km²"
    return f"{total:,.0f} m²"


def summary_text(
    asked: Sequence[str],
    found: Iterable[tuple[str, float]],
    scope: str = "view",
    forms: Forms | None = None,
    describe: bool = False,
) -> str:
    """One sentence from the phrases the model grounded (``asked``, in order) and the ``(phrase, area_m2)`` of each
    object kept: "9 storage tanks, 31,200 m² in all.", "No ships in this view.", "2 ships (1,104 m²) and no
    airplanes." Areas are left out when any is unknown (NaN). ``forms``: see :func:`phrase_forms` (computed here
    when None). ``describe``: the answer to a description request, naming only what was found ("This view shows 9
    storage tanks (31,200 m²) and 2 buildings (410 m²)."). Returns "" when nothing was grounded."""
    counts: dict[str, int] = {phrase: 0 for phrase in asked}
    areas: dict[str, list[float]] = {phrase: [] for phrase in asked}
    for phrase, area in found:
        counts[phrase] = counts.get(phrase, 0) + 1
        areas.setdefault(phrase, []).append(math.nan if area is None else float(area))
    if not counts:
        return ""
    forms = phrase_forms(counts) if forms is None else forms
    plural = lambda phrase: forms.get(phrase, (phrase, phrase))[1]  # noqa: E731
    if describe:
        counts = {phrase: n for phrase, n in counts.items() if n}
        if not counts:
            return f"I see none of the objects I know in this {scope}."
    if not any(counts.values()):
        names = [plural(p) for p in counts]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return f"No {listed} in this {scope}."
    parts = []
    for phrase, n in counts.items():
        known = [a for a in areas[phrase] if math.isfinite(a)]
        text = _count(n, phrase, forms) if n else f"no {plural(phrase)}"
        if n and len(known) == n:
            total = _area(sum(known))
            text += f" ({total})" if len(counts) > 1 or describe else f", {total}" + (" in all" if n > 1 else "")
        parts.append(text)
    sentence = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if describe:
        return f"This {scope} shows {sentence}."
    return sentence[0].upper() + sentence[1:] + "."
