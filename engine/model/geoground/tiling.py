"""High-resolution, any-aspect tiling (GeoPixel's rule) with a hard cap on the number of tiles.

GeoPixel picks a grid width ``s`` from the aspect ratio and ``hd_num``, then grows it at inference to
``floor(W / tile)`` so large images keep their detail. That growth is unbounded for big rasters, so we also cap the
grid at ``max_tiles`` tiles: the work per image is bounded whatever its size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class TileGrid:
    """Where an image goes: the resized size before padding, and the tile grid after padding."""

    rows: int
    cols: int
    resized_width: int
    resized_height: int
    transposed: bool


@dataclass
class TiledImage:
    """The global view and the local tiles (row-major), each ``uint8 (3, tile, tile)``."""

    global_view: np.ndarray
    tiles: np.ndarray
    grid: TileGrid


def _fits(s: int, ratio: float, limit: int) -> bool:
    return s * math.ceil(s / ratio) <= limit


def plan_grid(width: int, height: int, tile: int, hd_num: int, max_tiles: int, training: bool = False) -> TileGrid:
    """GeoPixel's grid choice for a ``width x height`` image, capped at ``max_tiles`` tiles."""
    if width < 1 or height < 1:
        raise ValueError(f"image must have a positive size, got {width}x{height}")
    transposed = height > width
    if transposed:
        width, height = height, width
    ratio = width / height
    s = 1
    while _fits(s + 1, ratio, hd_num):
        s += 1
    s = min(math.ceil(1.5 * width / tile), s) if training else max(width // tile, s)
    while s > 1 and not _fits(s, ratio, max_tiles):
        s -= 1
    new_width = s * tile
    new_height = max(1, int(new_width / ratio))
    cols, rows = s, math.ceil(new_height / tile)
    if transposed:
        return TileGrid(cols, rows, new_height, new_width, True)
    return TileGrid(rows, cols, new_width, new_height, False)


def tile_image(image: np.ndarray, tile: int, hd_num: int, max_tiles: int, training: bool = False) -> TiledImage:
    """Resize ``uint8 (H, W, 3)`` to the planned grid, pad with white, and cut the global view and local tiles.

    Padding goes to the bottom (right for tall images) at inference and is centred when training, like GeoPixel.
    """
    height, width = image.shape[:2]
    grid = plan_grid(width, height, tile, hd_num, max_tiles, training)
    resized = np.asarray(
        Image.fromarray(np.ascontiguousarray(image)).resize(
            (grid.resized_width, grid.resized_height), Image.Resampling.BICUBIC
        )
    )
    canvas = np.full((grid.rows * tile, grid.cols * tile, 3), 255, dtype=np.uint8)
    top = left = 0
    if training:
        top = (canvas.shape[0] - grid.resized_height) // 2
        left = (canvas.shape[1] - grid.resized_width) // 2
    canvas[top : top + grid.resized_height, left : left + grid.resized_width] = resized
    global_view = np.asarray(Image.fromarray(canvas).resize((tile, tile), Image.Resampling.BICUBIC))
    tiles = canvas.reshape(grid.rows, tile, grid.cols, tile, 3).transpose(0, 2, 4, 1, 3).reshape(-1, 3, tile, tile)
    return TiledImage(global_view.transpose(2, 0, 1).copy(), np.ascontiguousarray(tiles), grid)


def image_token_count(rows: int, cols: int, side: int) -> int:
    """Length of the image token sequence: tiles of ``side x side`` tokens, a separator per row, one between views."""
    return (rows * cols + 1) * side * side + 1 + (rows + 1) * side
