"""Seam-free merging of per-tile instances into one polygon per object.

Each tile's polygons (in source-raster pixel coordinates) are compared with the not-yet-final polygons of earlier
tiles that share an overlap with it. Two polygons of the same phrase from different tiles are the same object when
they agree inside the shared rectangle of their two tiles: the IoU of their parts in that rectangle is at least
``min_iou``. Comparing only inside the shared rectangle is what makes this work for objects of any size: a long road
cut by three tiles has a small overall IoU between pieces, yet its pieces coincide in each overlap. Matching pieces
are joined (union-find) and their union is the object, so an object cut by a tile border comes out whole and an
object seen complete by two tiles comes out once.

Memory stays bounded on rasters of any size: a group is final, emitted and forgotten as soon as no tile still to
come reaches its bounding box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import box

from .tiles import Tile


@dataclass
class Piece:
    """A polygon found in one tile, in source-raster pixel coordinates."""

    geometry: shapely.Geometry
    phrase: str
    score: float = 1.0
    label: str | None = None


@dataclass
class Instance:
    """One merged object: the union of its pieces, the best score, and how many pieces built it."""

    geometry: shapely.Geometry
    phrase: str
    score: float
    label: str | None
    pieces: int


@dataclass
class _Pending:
    piece: Piece
    tile: int
    key: str
    group: int


class TileMerger:
    """Feed tiles in the order of ``tiles`` with :meth:`add`; collect what it returns, then :meth:`flush`."""

    def __init__(self, tiles: Sequence[Tile], *, min_iou: float = 0.3) -> None:
        if not 0 < min_iou <= 1:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
        self.min_iou = min_iou
        self._tiles = list(tiles)
        self._position = {tile.index: i for i, tile in enumerate(self._tiles)}
        self._boxes = np.array([tile.bounds for tile in self._tiles], dtype=float).reshape(-1, 4)
        self._pending: dict[int, _Pending] = {}
        self._groups: dict[int, list[int]] = {}
        self._next_id = 0

    def add(self, tile: Tile, pieces: Sequence[Piece]) -> list[Instance]:
        """Take one tile's pieces; return the objects that no later tile can change any more."""
        new_ids = []
        for piece in pieces:
            pid = self._next_id
            self._next_id += 1
            self._pending[pid] = _Pending(piece, tile.index, _key(piece.phrase), pid)
            self._groups[pid] = [pid]
            new_ids.append(pid)
        if new_ids:
            self._match(tile, new_ids)
        return self._emit(self._position[tile.index] + 1)

    def flush(self) -> list[Instance]:
        """Everything still pending, once all tiles are in."""
        return self._emit(len(self._tiles))

    def _match(self, tile: Tile, new_ids: list[int]) -> None:
        old_ids = [pid for pid, p in self._pending.items() if p.tile != tile.index]
        if not old_ids:
            return
        tree = shapely.STRtree([self._pending[pid].piece.geometry for pid in new_ids])
        old_index, new_index = tree.query(
            [self._pending[pid].piece.geometry for pid in old_ids], predicate="intersects"
        )
        tile_box = tile.bounds
        for i, j in zip(old_index, new_index):
            old, new = self._pending[old_ids[i]], self._pending[new_ids[j]]
            if old.key != new.key or self._find(old.group) == self._find(new.group):
                continue
            shared = _intersect_boxes(tile_box, self._tiles[self._position[old.tile]].bounds)
            if shared is not None and _iou_within(old.piece.geometry, new.piece.geometry, shared) >= self.min_iou:
                self._union(old.group, new.group)

    def _emit(self, next_position: int) -> list[Instance]:
        remaining = self._boxes[next_position:]
        done = []
        for root in list(self._groups):
            members = self._groups[root]
            bounds = np.array([self._pending[m].piece.geometry.bounds for m in members])
            minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
            maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
            reaches = (
                (remaining[:, 0] < maxx)
                & (remaining[:, 2] > minx)
                & (remaining[:, 1] < maxy)
                & (remaining[:, 3] > miny)
            )
            if reaches.any():
                continue
            done.append(self._instance(members))
            for m in members:
                del self._pending[m]
            del self._groups[root]
        return done

    def _instance(self, members: list[int]) -> Instance:
        pieces = [self._pending[m].piece for m in sorted(members)]
        geometry = pieces[0].geometry if len(pieces) == 1 else shapely.union_all([p.geometry for p in pieces])
        label = next((p.label for p in pieces if p.label), None)
        return Instance(geometry, pieces[0].phrase, max(p.score for p in pieces), label, len(pieces))

    def _find(self, gid: int) -> int:
        while self._pending[gid].group != gid:
            gid = self._pending[gid].group
        return gid

    def _union(self, a: int, b: int) -> None:
        root_a, root_b = self._find(a), self._find(b)
        if root_a == root_b:
            return
        keep, drop = min(root_a, root_b), max(root_a, root_b)
        for m in self._groups.pop(drop):
            self._pending[m].group = keep
            self._groups[keep].append(m)


def _key(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _intersect_boxes(a: tuple[float, ...], b: tuple[float, ...]) -> shapely.Geometry | None:
    minx, miny, maxx, maxy = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if minx >= maxx or miny >= maxy:
        return None
    return box(minx, miny, maxx, maxy)


def _iou_within(a: shapely.Geometry, b: shapely.Geometry, region: shapely.Geometry) -> float:
    a_in, b_in = a.intersection(region), b.intersection(region)
    inter = a_in.intersection(b_in).area
    union = a_in.area + b_in.area - inter
    return inter / union if union > 0 else 0.0
