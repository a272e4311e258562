"""METEOR and CIDEr of generated descriptions, with the COCO caption evaluation code (pycocoevalcap).

Why pycocoevalcap: it is the implementation the GCG numbers in the literature were computed with (GLaMM's protocol,
via COCO caption evaluation), and its PyPI wheel ships everything METEOR 1.5 needs (the jar and its English
paraphrase table) plus the Stanford PTB tokenizer jar, so it runs fully offline. It needs a Java runtime (8 or
newer) on PATH for METEOR and tokenisation; CIDEr-D itself is pure Python. NLTK's METEOR is a re-implementation with
different numbers and needs WordNet data that is not installable from PyPI as a maintained package.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Sequence

from ..data.sample import strip_markup


class TextMetricsUnavailableError(ValueError):
    """METEOR/CIDEr cannot run here (pycocoevalcap or Java missing)."""


def caption_metrics(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """Corpus METEOR and CIDEr(-D) of hypotheses against one reference each; grounding markup is removed first."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    if not references:
        raise ValueError("no descriptions to score")
    if shutil.which("java") is None:
        raise TextMetricsUnavailableError("METEOR and the PTB tokenizer need a Java runtime on PATH")
    try:
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.meteor.meteor import Meteor
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    except ImportError:
        raise TextMetricsUnavailableError("METEOR and CIDEr need the package pycocoevalcap") from None

    refs = {str(i): [{"caption": strip_markup(text)}] for i, text in enumerate(references)}
    hyps = {str(i): [{"caption": strip_markup(text) or "."}] for i, text in enumerate(hypotheses)}
    with contextlib.redirect_stdout(io.StringIO()):
        tokenizer = PTBTokenizer()
        refs_tok, hyps_tok = tokenizer.tokenize(refs), tokenizer.tokenize(hyps)
    # The tokenizer drops punctuation; a hypothesis that was punctuation only must still be a (blank) string.
    hyps_tok = {key: [value[0] if value and value[0] else ""] for key, value in hyps_tok.items()}
    meteor_scorer = Meteor()
    try:
        meteor, _ = meteor_scorer.compute_score(refs_tok, hyps_tok)
    finally:
        del meteor_scorer  # its finaliser stops the Java process
    cider, _ = Cider().compute_score(refs_tok, hyps_tok)
    return {"METEOR": float(meteor), "CIDEr": float(cider)}
