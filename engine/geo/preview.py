"""A quick-look PNG: the processed region, decimated, with the found polygons drawn over it."""

from __future__ import annotations

import os
import warnings

import numpy as np
import rasterio
from rasterio import features
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from .errors import OutputError
from .pipeline import SegmentationResult
from .raster import global_limits, open_raster, plan_bands, read_rgb, window_transform

# Distinct, colour-blind-friendly fills (Okabe-Ito), one per phrase in order of appearance.
PALETTE = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0), (204, 121, 167)]


def write_preview(result: SegmentationResult, png_path: str | os.PathLike, *, max_size: int = 1024) -> str:
    """Draw ``result`` over its source region at most ``max_size`` pixels wide/high and save it as PNG."""
    col_off, row_off, width, height = result.region
    region = Window(col_off, row_off, width, height)
    scale = min(1.0, max_size / max(width, height))
    shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the CRS warning was given when the result was made
        with open_raster(result.source) as dataset:
            plan = plan_bands(dataset)
            limits = global_limits(dataset, region, plan)
            read = read_rgb(dataset, region, shape, plan, limits=limits)
            transform = window_transform(dataset, region, shape)
    image = read[0].copy() if read is not None else np.zeros((*shape, 3), dtype=np.uint8)
    phrases = list(dict.fromkeys(f.phrase for f in result.features))
    for n, phrase in enumerate(phrases):
        geometries = [f.geometry for f in result.features if f.phrase == phrase]
        inside = features.rasterize(geometries, out_shape=shape, transform=transform, fill=0, default_value=1)
        edges = features.rasterize(
            [g.boundary for g in geometries], out_shape=shape, transform=transform, all_touched=True, default_value=1
        )
        colour = np.array(PALETTE[n % len(PALETTE)], dtype=np.float32)
        blend = inside.astype(bool)
        image[blend] = (0.55 * image[blend] + 0.45 * colour).astype(np.uint8)
        image[edges.astype(bool)] = colour.astype(np.uint8)
    path = os.fspath(png_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path, "w", driver="PNG", width=shape[1], height=shape[0], count=3, dtype="uint8") as png:
                png.write(image.transpose(2, 0, 1))
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise OutputError(f"cannot write preview {path}: {str(exc).splitlines()[0] if str(exc) else exc}") from exc
    return path
