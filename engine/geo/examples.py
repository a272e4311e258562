"""Example objects on a raster -> an example prompt, read the way the pipeline reads the tiles it answers.

The model compares what it sees under the examples with every tile, so each example is read in a window of the
same ground extent and pixel size as the tiles: centred on the example, shifted inwards at the raster's edges. A
point is taken as a small disc around it (a click on an object); polygons as their own outline.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine
from rasterio.windows import Window

from .errors import RasterError
from .raster import BandPlan, read_rgb

EXAMPLE_KINDS = ("Polygon", "MultiPolygon", "Point", "MultiPoint")
# Radius of the disc a point example stands for, in pixels of the image the model sees (its tile).
POINT_RADIUS_PX = 4.0


def read_examples(path: str, raster_crs_wkt: str | None) -> list[shapely.Geometry]:
    """The polygons or points of a vector file as examples, in the raster's CRS (reprojected when the file has
    another), or as they are (pixel coordinates: x right, y down) for a raster without a CRS."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    name = os.path.basename(os.fspath(path))
    try:
        meta, _, wkb, _ = pyogrio.raw.read(path)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise RasterError(f"cannot read the examples {name} as a vector layer: {exc}") from exc
    try:
        geometries = [shapely.from_wkb(g) for g in wkb if g is not None]
    except shapely.errors.GEOSException as exc:
        raise RasterError(f"{name} holds an unreadable geometry: {exc}") from exc
    geometries = [g for g in geometries if not g.is_empty]
    if not geometries:
        raise RasterError(f"{name} has no example (no feature with a geometry)")
    kinds = sorted({g.geom_type for g in geometries} - set(EXAMPLE_KINDS))
    if kinds:
        raise RasterError(f"examples must be polygons or points; {name} holds {', '.join(kinds)}")
    geometries = [shapely.make_valid(g) if not g.is_valid else g for g in geometries]
    crs = meta.get("crs")
    if raster_crs_wkt is None or not crs:
        return geometries
    from pyproj import CRS, Transformer

    if CRS.from_user_input(crs) == CRS.from_user_input(raster_crs_wkt):
        return geometries
    transformer = Transformer.from_crs(crs, raster_crs_wkt, always_xy=True)
    moved = [shapely.transform(g, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
             for g in geometries]  # fmt: skip
    if not all(np.isfinite(shapely.get_coordinates(g)).all() for g in moved):
        raise RasterError(
            f"the examples in {name} do not reproject from their CRS ({CRS.from_user_input(crs).name}) to the "
            "raster's: check the file's CRS (a GeoJSON without a crs member is read as WGS 84)"
        )
    return moved


def to_pixel_geometries(geometries: Sequence[shapely.Geometry], transform: Affine) -> list[shapely.Geometry]:
    """Geometries in the raster's CRS -> its pixel coordinates (x = column, y = row)."""
    inverse = ~transform
    params = [inverse.a, inverse.b, inverse.d, inverse.e, inverse.xoff, inverse.yoff]
    return [shapely.affinity.affine_transform(g, params) for g in geometries]


def example_windows(
    read: Callable[[Window, tuple[int, int]], tuple[np.ndarray, np.ndarray] | None],
    raster_shape: tuple[int, int],
    geometries: Sequence[shapely.Geometry],
    extent: tuple[int, int],
    out_shape: tuple[int, int],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(rgb, mask)`` per example: the window of ``extent`` (source rows, cols) around it, read at ``out_shape``
    by ``read(window, out_shape)`` (``(rgb, valid)``, None without data), and the example's pixels in it.
    ``geometries`` are in pixel coordinates of a raster of ``raster_shape`` (rows, cols). Raises
    :class:`RasterError` for an example outside the raster or over nodata only."""
    height, width = raster_shape
    rows, cols = min(extent[0], height), min(extent[1], width)
    zoom = out_shape[0] / rows
    reads = []
    for number, geometry in enumerate(geometries, start=1):
        geometry = _area_of(geometry, POINT_RADIUS_PX / zoom)
        inside = geometry.intersection(shapely.box(0, 0, width, height))
        if inside.is_empty or inside.area == 0:
            raise RasterError(f"example {number} lies outside the area searched")
        cx, cy = inside.centroid.x, inside.centroid.y
        col = int(np.clip(round(cx - cols / 2), 0, width - cols))
        row = int(np.clip(round(cy - rows / 2), 0, height - rows))
        found = read(Window(col, row, cols, rows), out_shape)
        if found is None:
            raise RasterError(f"example {number} lies over pixels without data")
        rgb, valid = found
        to_window = Affine.translation(col, row) * Affine.scale(cols / out_shape[1], rows / out_shape[0])
        mask = rasterize([(inside, 1)], out_shape=out_shape, transform=to_window, fill=0, dtype="uint8") > 0
        if not mask.any():  # smaller than one pixel of the read: its centre pixel stands for it
            r = min(int((cy - row) * zoom), out_shape[0] - 1)
            c = min(int((cx - col) * out_shape[1] / cols), out_shape[1] - 1)
            mask[r, c] = True
        mask &= valid
        if not mask.any():
            raise RasterError(f"example {number} lies over pixels without data")
        reads.append((rgb, mask))
    return reads


def dataset_reader(dataset, plan: BandPlan, limits=None):
    """``read(window, out_shape)`` for :func:`example_windows` over an open raster."""
    return lambda window, out_shape: read_rgb(dataset, window, out_shape, plan, limits=limits)


def array_reader(rgb: np.ndarray, valid: np.ndarray):
    """``read(window, out_shape)`` for :func:`example_windows` over an image in memory (read at its own pixels)."""

    def read(window: Window, out_shape: tuple[int, int]):
        rows, cols = window.toslices()
        part = valid[rows, cols]
        return (rgb[rows, cols], part) if part.any() else None

    return read


def _area_of(geometry: shapely.Geometry, radius: float) -> shapely.Geometry:
    """Polygons as they are; points and lines as the area within ``radius`` pixels of them."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    return geometry.buffer(max(radius, 0.5))


def prompt_from_windows(engine, reads: list[tuple[np.ndarray, np.ndarray]]):
    """One example prompt from the ``(rgb, mask)`` windows of :func:`example_windows`."""
    parts = [engine.example_prompt(rgb, mask[None]) for rgb, mask in reads]
    return type(parts[0]).concat(parts)


def bind_examples(engine, read, shape: tuple[int, int], geometries, tile, phrase: str, extent=None):
    """``engine`` bound to the examples (pixel coordinates of a raster of ``shape`` rows, cols), each read by
    ``read`` in a window of ``tile``'s extent (or ``extent``, source rows and cols) at ``tile``'s output size."""
    if not geometries:
        raise ValueError("no examples were given")
    if not callable(getattr(engine, "finder", None)):
        raise TypeError("this model cannot take examples (it has no finder)")
    extent = extent or (int(tile.window.height), int(tile.window.width))
    reads = example_windows(read, shape, geometries, extent, tuple(tile.out_shape))
    return engine.finder(prompt_from_windows(engine, reads), phrase)


def raster_finder(engine, source, examples, tile, phrase: str, model_gsd: float | None):
    """``engine`` bound to examples on a raster: ``source`` is ``(dataset, plan, limits)`` of the raster searched
    (examples in its CRS, or pixels without one), or the path of another raster of similar imagery (examples in
    that raster's CRS), read so that a pixel covers ``model_gsd`` metres as in the tiles (the tiles' own zoom when
    either raster has no CRS)."""
    if not isinstance(source, (str, os.PathLike)):
        dataset, plan, limits = source
        pixels = to_pixel_geometries(examples, dataset.transform) if dataset.crs is not None else list(examples)
        read = dataset_reader(dataset, plan, limits)
        return bind_examples(engine, read, (dataset.height, dataset.width), pixels, tile, phrase)
    from .measure import Measurer
    from .raster import global_limits, open_raster, plan_bands

    with open_raster(source) as other:
        zoom = tile.out_shape[0] / tile.window.height  # model pixels per source pixel of the raster searched
        if other.crs is not None and model_gsd is not None:
            ground = Measurer(other.crs.to_wkt()).ground_pixel_size(other.transform, other.height / 2, other.width / 2)
            zoom = ground / model_gsd
        extent = (max(1, round(tile.out_shape[0] / zoom)), max(1, round(tile.out_shape[1] / zoom)))
        pixels = to_pixel_geometries(examples, other.transform) if other.crs is not None else list(examples)
        plan = plan_bands(other)
        read = dataset_reader(other, plan, global_limits(other, Window(0, 0, other.width, other.height), plan))
        return bind_examples(engine, read, (other.height, other.width), pixels, tile, phrase, extent)
