"""Pixel-grounding engine: a remote-sensing multimodal LLM that answers with masks.

Nothing in this package imports QGIS. Modules import each other relatively so the package works both as the
top-level ``engine`` (repository root on ``sys.path``) and as a sub-package of the installed plugin folder.
"""

from .types import Cancelled, Reply, Segment, Turn

__all__ = ["Cancelled", "Reply", "Segment", "Turn"]
