"""Pixel-grid arithmetic with nothing but the six affine coefficients, so it can run anywhere (also inside QGIS,
where the engine's geometry libraries are not loaded)."""

from __future__ import annotations

from collections.abc import Sequence


def pixel_corners(transform: Sequence[float], row: float, col: float) -> list[tuple[float, float]]:
    """The map coordinates of the four corners of pixel (``row``, ``col``), in ring order; ``transform`` is an
    ``affine.Affine`` or its coefficients (a, b, c, d, e, f)."""
    a, b, c, d, e, f = tuple(transform)[:6]
    corners = ((col, row), (col + 1, row), (col + 1, row + 1), (col, row + 1))
    return [(a * x + b * y + c, d * x + e * y + f) for x, y in corners]
