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


def error_reason(error: BaseException) -> str:
    """The reason behind an error, for one-line reports: rasterio's "Read failed. See previous exception for
    details." hides GDAL's message in its causes, so the first specific message of the chain is given, with the
    deepest one (the lowest-level reason, e.g. libtiff's) in brackets when it differs."""
    messages = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = first_line(current)
        if "see previous exception" not in text.lower():
            messages.append(text)
        current = current.__cause__ or current.__context__
    if not messages:
        return first_line(error)
    return messages[0] if len(messages) == 1 or messages[-1] in messages[0] else f"{messages[0]} ({messages[-1]})"
