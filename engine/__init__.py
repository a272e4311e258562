"""Pixel-grounding engine: a remote-sensing multimodal LLM that answers with masks.

Nothing in this package imports QGIS. Modules import each other relatively so the package works both as the
top-level ``engine`` (repository root on ``sys.path``) and as a sub-package of the installed plugin folder.
"""

from .types import Reply, Segment, Turn

__all__ = ["Reply", "Segment", "Turn"]
