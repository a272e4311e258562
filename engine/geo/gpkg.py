"""Atomic GeoPackage writing with pyogrio: polygon layers plus the conversation as a plain table.

A GeoPackage is written to a temporary file next to the destination and moved over it with ``os.replace`` only when
complete, so a failure halfway (full disk, bad geometry, interrupted run) never leaves a damaged file and never
touches an existing one. Appending copies the existing file, adds to the copy and replaces the original.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyogrio
import shapely
from pyogrio.raw import write as ogr_write

from ..errors import first_line
from .errors import OutputError

if TYPE_CHECKING:
    from .pipeline import SegmentationResult

CONVERSATION_TABLE = "conversation"


@dataclass
class VectorLayer:
    """Polygons and their attribute columns (same length as ``geometries``), in the CRS given as WKT (or None)."""

    name: str
    geometries: list[shapely.Geometry]
    columns: dict[str, np.ndarray]
    crs_wkt: str | None = None


@dataclass
class Table:
    """A non-spatial table (no geometry column)."""

    name: str
    columns: dict[str, np.ndarray] = field(default_factory=dict)


def layer_names(path: str | os.PathLike) -> list[str]:
    """Names of the layers and tables of an existing GeoPackage."""
    try:
        return [str(name) for name in pyogrio.list_layers(os.fspath(path))[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise OutputError(f"{os.fspath(path)} is not a readable GeoPackage: {first_line(exc)}") from exc


def unique_layer_name(text: str, taken: Sequence[str]) -> str:
    """A layer name from free text (lower case, letters/digits/underscores, at most 48 chars) not in ``taken``."""
    base = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")[:48].strip("_") or "segments"
    if base[0].isdigit():
        base = f"l_{base}"
    taken_lower = {t.lower() for t in taken} | {CONVERSATION_TABLE}
    name, n = base, 2
    while name.lower() in taken_lower:
        name, n = f"{base}_{n}", n + 1
    return name


def check_destination(path: str | os.PathLike, *, append: bool = False, overwrite: bool = False) -> str:
    """Fail early, before any work, when ``path`` cannot be written as asked; returns its folder."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    exists = os.path.exists(path)
    if exists and os.path.isdir(path):
        raise OutputError(f"output is a folder, not a file: {path}")
    if exists and not append and not overwrite:
        raise OutputError(f"{path} already exists: append to it or choose to overwrite it")
    if not os.path.isdir(folder):
        raise OutputError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write in {folder}: permission denied")
    if exists and append:
        layer_names(path)  # raises when it is not a GeoPackage
    return folder


def write_geopackage(
    path: str | os.PathLike,
    layers: Sequence[VectorLayer],
    tables: Sequence[Table] = (),
    *,
    append: bool = False,
    overwrite: bool = False,
) -> None:
    """Write ``layers`` and ``tables`` to ``path`` atomically.

    Without ``append`` an existing file is an error unless ``overwrite``. With ``append`` the layers are added to the
    existing GeoPackage (names must be new) and table rows are appended to same-named tables.
    """
    path = os.fspath(path)
    folder = check_destination(path, append=append, overwrite=overwrite)
    exists = os.path.exists(path)
    existing = layer_names(path) if exists and append else []
    clash = sorted({layer.name for layer in layers} & set(existing))
    if clash:
        raise OutputError(f"{path} already has layer(s) {', '.join(clash)}")

    handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp.gpkg", dir=folder)
    os.close(handle)
    try:
        if exists and append:
            shutil.copyfile(path, temp)
        else:
            os.remove(temp)
        for layer in layers:
            _write_layer(temp, layer, append_to_file=os.path.exists(temp))
        for table in tables:
            _write_table(temp, table, table.name in existing)
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise OutputError(f"cannot replace {path}: permission denied")
        os.replace(temp, path)
    except OutputError:
        _remove_quietly(temp)
        raise
    except (OSError, pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError) as exc:
        _remove_quietly(temp)
        raise OutputError(f"cannot write {path}: {first_line(exc)}") from exc
    except BaseException:
        _remove_quietly(temp)
        raise


def _write_layer(path: str, layer: VectorLayer, append_to_file: bool) -> None:
    multi = any(g.geom_type == "MultiPolygon" for g in layer.geometries)
    wkb = np.array(shapely.to_wkb(layer.geometries), dtype=object) if layer.geometries else np.array([], dtype=object)
    names = list(layer.columns)
    with warnings.catch_warnings():
        # a raster without CRS gives pixel-coordinate layers on purpose; the caller has warned about it already
        warnings.filterwarnings("ignore", message=".*'crs' was not provided", category=UserWarning)
        ogr_write(
            path,
            wkb,
            [np.asarray(layer.columns[n]) for n in names],
            names,
            layer=layer.name,
            driver="GPKG",
            geometry_type="MultiPolygon" if multi else "Polygon",
            promote_to_multi=multi,
            crs=layer.crs_wkt,
            append=append_to_file,
        )


def _write_table(path: str, table: Table, into_existing: bool) -> None:
    names = list(table.columns)
    ogr_write(
        path,
        None,
        [np.asarray(table.columns[n]) for n in names],
        names,
        layer=table.name,
        driver="GPKG",
        append=into_existing or os.path.exists(path),
    )


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def write_result(
    result: SegmentationResult,
    gpkg_path: str | os.PathLike,
    *,
    append: bool = False,
    overwrite: bool = False,
    layer: str | None = None,
) -> str:
    """Write the features as a new layer (named after the instruction unless ``layer``) and the conversation turns as
    rows of the ``conversation`` table; atomic (see :mod:`.gpkg`). Returns the layer name."""
    taken = layer_names(gpkg_path) if append and os.path.exists(gpkg_path) else []
    name = layer or unique_layer_name(result.instruction, taken)
    features = result.features
    count = len(features)
    columns = {
        "phrase": np.array([f.phrase for f in features], dtype=object),
        "class": np.array([f.label or f.phrase for f in features], dtype=object),
        "score": np.array([f.score for f in features], dtype=np.float64),
        "area_m2": np.array([f.area_m2 for f in features], dtype=np.float64),
        "perimeter_m": np.array([f.perimeter_m for f in features], dtype=np.float64),
        "instruction": np.array([result.instruction] * count, dtype=object),
        "model": np.array([result.model] * count, dtype=object),
        "created": np.array([result.created] * count, dtype=object),
    }
    turns = result.conversation
    start = _next_turn_index(gpkg_path) if taken else 0
    table = Table(
        CONVERSATION_TABLE,
        {
            "turn": np.arange(start, start + len(turns), dtype=np.int64),
            "role": np.array([t.role for t in turns], dtype=object),
            "text": np.array([t.text for t in turns], dtype=object),
            "created": np.array([result.created] * len(turns), dtype=object),
            "layer": np.array([name] * len(turns), dtype=object),
        },
    )
    vector = VectorLayer(name, [f.geometry for f in features], columns, result.crs_wkt)
    write_geopackage(gpkg_path, [vector], [table], append=append, overwrite=overwrite)
    return name


def _next_turn_index(gpkg_path: str | os.PathLike) -> int:
    from pyogrio.raw import read

    if CONVERSATION_TABLE not in layer_names(gpkg_path):
        return 0
    _, _, _, columns = read(os.fspath(gpkg_path), layer=CONVERSATION_TABLE, columns=["turn"])
    return int(columns[0].max()) + 1 if len(columns[0]) else 0


__all__ = [
    "write_result",
    "CONVERSATION_TABLE",
    "Table",
    "VectorLayer",
    "layer_names",
    "unique_layer_name",
    "write_geopackage",
]
