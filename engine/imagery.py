"""Turn raster pixels of any band count and data type into the 8-bit RGB image the model sees.

Rasters come as ``(bands, H, W)`` arrays, the layout ``rasterio`` reads; a single band may also be given as ``(H, W)``.
A channels-last ``(H, W, C)`` image with C of 1 to 4 (Pillow, OpenCV, an earlier ``to_rgb8`` result) is accepted
too when H > 4, since no real raster has more than 4 rows yet at most 4 columns (:func:`is_channels_last`). The
model always gets ``uint8 (H, W, 3)`` plus a boolean mask of the pixels that hold data.

Band mapping (``bands=None``; band numbers are 1-based like GDAL and rasterio):

* 1 band: grey, replicated to R, G and B.
* 2 bands: band 1 as grey. Band 2 is read as alpha when ``alpha`` says so or, by default, when it looks like an
  alpha band (uint8 holding only 0 and 255); otherwise it is ignored.
* 3 bands: R, G, B.
* 4 bands: R, G, B and either alpha or near-infrared. By default band 4 is alpha when it looks like one (uint8 holding
  only 0 and 255), else it is taken as NIR and dropped (NAIP and most 4-band aerial products are RGB+NIR).
  Pass ``alpha=True``/``False`` to decide explicitly (the raster reader does so from the file's colour
  interpretation).
* More than 4 bands: bands 4, 3, 2 as R, G, B. That is true colour for Sentinel-2 stacks in band order
  (B1 coastal, B2 blue, B3 green, B4 red, ...) and for Landsat 8/9; for any other sensor pass ``bands=``.

``bands=`` overrides the mapping: one index for grey or three for R, G, B.

Values: ``uint8`` is used as is (no stretch) unless ``stretch=True``. Every other type (uint16, int, float) gets a
per-band linear stretch between the ``percentiles`` of its valid pixels, so a 12-bit or reflectance image becomes
visible without knowing the sensor.

Validity: a pixel is invalid when all used bands equal ``nodata``, when any used band is NaN or infinite, when it is
masked in all used bands of a ``numpy.ma.MaskedArray``, or when its alpha is 0. Invalid pixels are painted black
(``0, 0, 0``) and are False in the returned mask. An input without any valid pixel raises :class:`ImageryError`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Sentinel-2 / Landsat 8-9 true colour (red, green, blue) as 1-based band numbers.
MULTISPECTRAL_RGB = (4, 3, 2)
# Percentiles are computed on at most this many valid values (an even sample) so huge images stay cheap.
_PERCENTILE_SAMPLE = 1_000_000


class ImageryError(ValueError):
    """The pixels cannot be turned into an image (wrong shape, bad band choice, nothing valid)."""


def to_rgb8(
    array: np.ndarray,
    *,
    nodata: float | None = None,
    bands: Sequence[int] | None = None,
    percentiles: tuple[float, float] = (2, 98),
    alpha: bool | None = None,
    stretch: bool | None = None,
    limits: Sequence[tuple[float, float]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Map ``(bands, H, W)`` or ``(H, W)`` pixels to ``uint8 (H, W, 3)`` RGB and a bool ``(H, W)`` valid mask.

    ``stretch`` None means "stretch unless uint8". ``limits`` gives fixed (low, high) values per output channel
    (see :func:`stretch_limits`) so that the tiles of one raster share one stretch instead of each tile having its
    own; it implies ``stretch=True``.
    """
    channels, valid, dtype = _select(array, nodata=nodata, bands=bands, alpha=alpha)
    if not valid.any():
        raise ImageryError("the image has no valid pixels (all nodata, NaN or transparent)")
    if limits is not None:
        if len(limits) != len(channels):
            raise ImageryError(f"limits has {len(limits)} entries, the image has {len(channels)} channel(s)")
        scaled = [_scale(c, lo, hi) for c, (lo, hi) in zip(channels, limits)]
    elif stretch or (stretch is None and dtype != np.uint8):
        scaled = [_scale(c, *_percentiles(c, valid, percentiles)) for c in channels]
    else:
        scaled = [_as_uint8(c) for c in channels]
    if len(scaled) == 1:
        scaled = scaled * 3
    rgb = np.stack(scaled, axis=-1)
    rgb[~valid] = 0
    return rgb, valid


def stretch_limits(
    array: np.ndarray,
    *,
    nodata: float | None = None,
    bands: Sequence[int] | None = None,
    percentiles: tuple[float, float] = (2, 98),
    alpha: bool | None = None,
) -> list[tuple[float, float]]:
    """Per output channel (low, high) stretch values of ``array``, for reuse with ``to_rgb8(..., limits=...)``.

    Typically computed once on a decimated read of a whole raster, then applied to every tile.
    """
    channels, valid, _ = _select(array, nodata=nodata, bands=bands, alpha=alpha)
    if not valid.any():
        raise ImageryError("the image has no valid pixels (all nodata, NaN or transparent)")
    return [_percentiles(c, valid, percentiles) for c in channels]


def looks_like_alpha(band: np.ndarray) -> bool:
    """True for a uint8 band holding only 0 and 255, the usual shape of an alpha band."""
    band = np.asarray(band)
    return band.dtype == np.uint8 and bool(np.all((band == 0) | (band == 255)))


def is_channels_last(array: np.ndarray) -> bool:
    """Whether a 3-D array is ``(H, W, C)`` rather than the raster layout ``(bands, H, W)``: C of at most 4 and more
    than 4 rows (the one rule for every caller)."""
    return array.ndim == 3 and array.shape[2] <= 4 < array.shape[0]


def _select(
    array: np.ndarray, *, nodata: float | None, bands: Sequence[int] | None, alpha: bool | None
) -> tuple[list[np.ndarray], np.ndarray, np.dtype]:
    """Pick the 1 or 3 channels to show and compute the valid mask; returns (channels, valid, dtype)."""
    masked = np.ma.getmaskarray(array) if isinstance(array, np.ma.MaskedArray) else None
    data = np.ma.getdata(array) if masked is not None else np.asarray(array)
    if data.ndim == 2:
        data = data[np.newaxis]
        masked = masked[np.newaxis] if masked is not None else None
    if data.ndim != 3:
        raise ImageryError(f"expected a (bands, H, W) or (H, W) array, got shape {data.shape}")
    if is_channels_last(data):
        data = data.transpose(2, 0, 1)
        masked = masked.transpose(2, 0, 1) if masked is not None else None
    count, height, width = data.shape
    if count == 0 or height == 0 or width == 0:
        raise ImageryError(f"the image is empty (shape {data.shape})")
    if data.dtype.kind not in "biuf":
        raise ImageryError(f"unsupported pixel type {data.dtype}")
    if data.dtype == bool:
        data = data.astype(np.uint8) * 255

    alpha_index: int | None = None
    if bands is not None:
        picked = [int(b) for b in bands]
        if len(picked) not in (1, 3):
            raise ImageryError(f"bands= takes 1 (grey) or 3 (R, G, B) band numbers, got {len(picked)}")
        bad = [b for b in picked if not 1 <= b <= count]
        if bad:
            raise ImageryError(f"band number(s) {bad} out of range: the image has bands 1..{count}")
    elif count == 1:
        picked = [1]
    elif count == 2:
        picked = [1]
        alpha_index = 2 if _is_alpha(data[1], alpha) else None
    elif count == 3:
        picked = [1, 2, 3]
    elif count == 4:
        picked = [1, 2, 3]
        alpha_index = 4 if _is_alpha(data[3], alpha) else None
    else:
        picked = list(MULTISPECTRAL_RGB)

    channels = [data[b - 1] for b in picked]
    valid = np.ones((height, width), dtype=bool)
    if data.dtype.kind == "f":
        for c in channels:
            valid &= np.isfinite(c)
    if nodata is not None and not np.isnan(nodata):
        all_nodata = np.ones((height, width), dtype=bool)
        for c in channels:
            all_nodata &= c == nodata
        valid &= ~all_nodata
    if masked is not None:
        valid &= ~np.logical_and.reduce([masked[b - 1] for b in picked])
    if alpha_index is not None:
        valid &= data[alpha_index - 1] != 0
    return channels, valid, data.dtype


def _is_alpha(band: np.ndarray, alpha: bool | None) -> bool:
    return looks_like_alpha(band) if alpha is None else alpha


def _percentiles(channel: np.ndarray, valid: np.ndarray, percentiles: tuple[float, float]) -> tuple[float, float]:
    low_pct, high_pct = percentiles
    if not 0 <= low_pct < high_pct <= 100:
        raise ImageryError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    values = channel[valid]
    if values.size > _PERCENTILE_SAMPLE:
        values = values[:: values.size // _PERCENTILE_SAMPLE]
    low, high = np.percentile(values.astype(np.float64), [low_pct, high_pct])
    return float(low), float(high)


def _scale(channel: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear map of [low, high] to [0, 255]; a flat band (high <= low) maps to 0."""
    values = channel.astype(np.float32)
    if high <= low:
        return np.zeros(channel.shape, dtype=np.uint8)
    scaled = (values - np.float32(low)) * np.float32(255.0 / (high - low))
    np.clip(scaled, 0, 255, out=scaled)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return np.rint(scaled).astype(np.uint8)


def _as_uint8(channel: np.ndarray) -> np.ndarray:
    if channel.dtype == np.uint8:
        return channel
    return np.clip(np.nan_to_num(channel.astype(np.float32)), 0, 255).astype(np.uint8)
