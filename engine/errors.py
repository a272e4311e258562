"""Errors shared across the engine's packages, and the one way their messages are shortened for users.

The geo pipeline's own errors (bad rasters, unwritable outputs, model failures) are in ``engine.geo.errors``.
"""

from __future__ import annotations


class ModelNotFoundError(ValueError):
    """The model name, folder or hub id does not lead to a model the engine loads."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none): what a one-line report shows."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
