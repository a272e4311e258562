"""The tile grid of whole-raster mode: overlapping windows of a fixed size covering a region of any size."""

from __future__ import annotations

from dataclasses import dataclass

from affine import Affine
from rasterio.windows import Window


@dataclass(frozen=True)
class Tile:
    """One read of the model: a source-pixel window and the (rows, cols) it is resampled to."""

    index: int
    row: int
    col: int
    window: Window
    out_shape: tuple[int, int]

    @property
    def to_source(self) -> Affine:
        """Maps this tile's pixel (col, row) to source-raster pixel coordinates, the space tiles are merged in."""
        rows, cols = self.out_shape
        return Affine.translation(self.window.col_off, self.window.row_off) @ Affine.scale(
            self.window.width / cols, self.window.height / rows
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the tile in source pixel coordinates."""
        w = self.window
        return (w.col_off, w.row_off, w.col_off + w.width, w.row_off + w.height)


def tile_grid(region: Window, tile_size: int, overlap: int, scale: float = 1.0) -> list[Tile]:
    """Row-major tiles of ``tile_size`` output pixels overlapping by ``overlap`` output pixels over ``region``.

    ``scale`` is output pixels per source pixel (1 = native). The last tile of a row or column is moved back to end
    on the region's edge, so every tile has the full size the model was asked to see (a region smaller than one tile
    gives a single, smaller tile).
    """
    if tile_size < 16:
        raise ValueError(f"tile size must be at least 16 pixels, got {tile_size}")
    if not 0 < overlap < tile_size:
        raise ValueError(f"overlap must be between 1 and tile size - 1 ({tile_size - 1}) pixels, got {overlap}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out_width = max(1, round(region.width * scale))
    out_height = max(1, round(region.height * scale))
    tiles = []
    for row, (y0, height) in enumerate(spans(out_height, tile_size, overlap)):
        for col, (x0, width) in enumerate(spans(out_width, tile_size, overlap)):
            src_x0, src_x1 = _to_source(x0, width, out_width, region.col_off, region.width)
            src_y0, src_y1 = _to_source(y0, height, out_height, region.row_off, region.height)
            window = Window(src_x0, src_y0, src_x1 - src_x0, src_y1 - src_y0)
            tiles.append(Tile(len(tiles), row, col, window, (height, width)))
    return tiles


def single_tile(region: Window, scale: float = 1.0) -> Tile:
    """The whole region as one read (window mode), resampled by ``scale``."""
    out_shape = (max(1, round(region.height * scale)), max(1, round(region.width * scale)))
    return Tile(0, 0, 0, region, out_shape)


def spans(length: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, size)`` of windows of ``size`` along an axis of ``length``, every ``size - overlap`` pixels, the last
    moved back to end on the border (one shorter window when the axis is shorter than ``size``)."""
    if length <= size:
        return [(0, length)]
    stride = size - overlap
    starts = list(range(0, length - size, stride)) + [length - size]
    return [(s, size) for s in starts]


def _to_source(start: int, size: int, out_length: int, src_off: int, src_length: int) -> tuple[int, int]:
    ratio = src_length / out_length
    first = src_off + round(start * ratio)
    last = min(src_off + src_length, src_off + round((start + size) * ratio))
    return first, max(last, first + 1)
