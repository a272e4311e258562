"""Procedural textures in plain numpy: smooth value noise, box blur and shadow casting.

These give synthetic scenes the low-frequency variation (soil moisture, crop vigour, roof weathering) that makes
a model learn shapes rather than flat colours.
"""

from __future__ import annotations

import numpy as np


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cell: float) -> np.ndarray:
    """Smooth noise in [0, 1]: a random grid with one value per ``cell`` pixels, bilinearly interpolated."""
    height, width = shape
    cell = max(cell, 1.0)
    gh, gw = int(np.ceil(height / cell)) + 2, int(np.ceil(width / cell)) + 2
    grid = rng.random((gh, gw))
    ys = np.arange(height) / cell
    xs = np.arange(width) / cell
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    # Smoothstep weights avoid the visible grid lines of plain bilinear interpolation.
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
    g00 = grid[np.ix_(y0, x0)]
    g01 = grid[np.ix_(y0, x0 + 1)]
    g10 = grid[np.ix_(y0 + 1, x0)]
    g11 = grid[np.ix_(y0 + 1, x0 + 1)]
    return (g00 * (1 - fx) + g01 * fx) * (1 - fy) + (g10 * (1 - fx) + g11 * fx) * fy


def fractal_noise(
    rng: np.random.Generator, shape: tuple[int, int], cell: float, octaves: int = 3, falloff: float = 0.5
) -> np.ndarray:
    """Sum of value noise at halving cell sizes, rescaled to [0, 1]."""
    total = np.zeros(shape)
    weight, amp = 0.0, 1.0
    for octave in range(octaves):
        total += amp * value_noise(rng, shape, cell / (2**octave))
        weight += amp
        amp *= falloff
    total /= weight
    lo, hi = total.min(), total.max()
    return (total - lo) / (hi - lo) if hi > lo else np.zeros(shape)


def box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean filter of a (H, W) or (H, W, C) float array with a (2r+1)^2 window, edges replicated."""
    if radius <= 0:
        return image.astype(float)
    out = image.astype(float)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius + 1, radius)
        padded = np.pad(out, pad, mode="edge")
        csum = np.cumsum(padded, axis=axis)
        size = out.shape[axis]
        hi = np.take(csum, np.arange(2 * radius + 1, 2 * radius + 1 + size), axis=axis)
        lo = np.take(csum, np.arange(0, size), axis=axis)
        out = (hi - lo) / (2 * radius + 1)
    return out


def shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The mask moved by (dy, dx) pixels, with zeros shifted in (no wrap-around)."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[dst_r, dst_c] = mask[src_r, src_c]
    return out


def cast_shadow(footprint: np.ndarray, length_px: float, direction: tuple[float, float]) -> np.ndarray:
    """Ground pixels shaded by an object of ``footprint`` whose shadow extends ``length_px`` along ``direction``.

    The footprint is swept along the (unit, row/col) direction one pixel at a time, which approximates the shadow
    of a vertical prism; the footprint itself is excluded.
    """
    shadow = np.zeros_like(footprint)
    steps = int(round(length_px))
    for step in range(1, steps + 1):
        shadow |= shift(footprint, int(round(direction[0] * step)), int(round(direction[1] * step)))
    return shadow & ~footprint
