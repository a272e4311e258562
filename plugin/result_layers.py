"""Result layers: polygons and the conversation written to a GeoPackage with QGIS's own writer, then styled.

Results are never kept only in memory: each answer becomes a layer of a GeoPackage on disk, so closing QGIS loses
nothing. The polygon layer is categorised by phrase with the same colour the dock uses for that phrase.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsField,
    QgsFields,
    QgsFillSymbol,
    QgsGeometry,
    QgsMapLayer,
    QgsProviderRegistry,
    QgsRendererCategory,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtGui import QColor

from .i18n import tr
from .qt_compat import FieldKind, FieldType

RESULT_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("phrase", FieldType.String),
    ("class", FieldType.String),
    ("score", FieldType.Double),
    ("area_m2", FieldType.Double),
    ("perimeter_m", FieldType.Double),
    ("instruction", FieldType.String),
    ("model", FieldType.String),
    ("created", FieldType.String),
)
CONVERSATION_TABLE = "conversation"
CONVERSATION_FIELDS: tuple[tuple[str, FieldKind], ...] = (
    ("turn", FieldType.Int),
    ("role", FieldType.String),
    ("text", FieldType.String),
    ("layer", FieldType.String),
    ("created", FieldType.String),
)
# Decimals kept per measured attribute: more would only be noise (mask probabilities, areas from pixel outlines).
ROUNDING = {"score": 3, "area_m2": 2, "perimeter_m": 2}
_now = datetime.now  # the clock of layer names (replaced in tests)


class ResultWriteError(OSError):
    """The GeoPackage could not be written; the message is meant for the user."""


def phrase_color(phrase: str) -> QColor:
    """A stable, distinct colour per phrase (the same in the map and in the dock's conversation view)."""
    digest = hashlib.blake2s(phrase.strip().lower().encode("utf-8"), digest_size=4).digest()
    hue = digest[0] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return QColor(int(r * 255), int(g * 255), int(b * 255))


def fields_of(spec: Sequence[tuple[str, FieldKind]]) -> QgsFields:
    fields = QgsFields()
    for name, kind in spec:
        fields.append(QgsField(name, kind))
    return fields


def gpkg_layer_names(gpkg: Path) -> list[str]:
    """Every table of ``gpkg`` (layers, non-spatial tables and GeoPackage internals); empty when there is no file."""
    gpkg = Path(gpkg)
    if not gpkg.exists():
        return []
    try:
        connection = sqlite3.connect(str(gpkg))
        try:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise ResultWriteError(tr("{} is not a GeoPackage: {}").format(gpkg, exc)) from exc
    return [str(name) for (name,) in rows]


def unique_layer_name(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... : the first that is no table of ``taken`` (compared as SQLite does,
    ignoring case) and not a name reserved by the GeoPackage format or the conversation table."""
    taken_lower = {name.lower() for name in taken} | {CONVERSATION_TABLE}
    base = base or "result"
    if base.lower().startswith(("gpkg_", "rtree_", "sqlite_")):
        base = "result_" + base
    name, n = base, 2
    while name.lower() in taken_lower:
        name, n = f"{base}_{n}", n + 1
    return name


def result_layer_name(instruction: str, taken: Iterable[str]) -> str:
    """``<instruction words>_<HHMMSS>``, made unique among ``taken`` so that no earlier result is ever replaced."""
    words = "".join(c if c.isalnum() else "_" for c in instruction.lower()).strip("_")
    return unique_layer_name(f"{words[:40].strip('_') or 'result'}_{_now().strftime('%H%M%S')}", taken)


def source_table(layer: QgsMapLayer) -> tuple[Path | None, str]:
    """(GeoPackage file, table name) of an OGR layer's source; (None, "") for other sources."""
    if layer.providerType() != "ogr":
        return None, ""
    parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
    path = parts.get("path") or ""
    return (Path(path) if path else None), str(parts.get("layerName") or "")


def _write(
    gpkg: Path,
    layer_name: str,
    spec,
    geometry_type,
    crs: QgsCoordinateReferenceSystem,
    rows: Iterable[QgsFeature],
    replace: bool = False,
) -> None:
    """Write a new table of ``gpkg``; an existing table of that name is an error unless ``replace`` is set."""
    if not replace and layer_name.lower() in {name.lower() for name in gpkg_layer_names(gpkg)}:
        raise ResultWriteError(tr("{} already has a layer named {}; it is not replaced.").format(gpkg, layer_name))
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = layer_name
    options.actionOnExistingFile = (
        QgsVectorFileWriter.CreateOrOverwriteLayer if gpkg.exists() else QgsVectorFileWriter.CreateOrOverwriteFile
    )
    writer = QgsVectorFileWriter.create(
        str(gpkg), fields_of(spec), geometry_type, crs, QgsCoordinateTransformContext(), options
    )
    if writer.hasError() != QgsVectorFileWriter.NoError:
        message = writer.errorMessage()
        del writer
        raise ResultWriteError(tr("Cannot write {}: {}").format(gpkg, message))
    for feature in rows:
        if not writer.addFeature(feature):
            message = writer.errorMessage()
            del writer
            raise ResultWriteError(tr("Cannot write a feature to {}: {}").format(gpkg, message))
    del writer  # closes and flushes the file


def polygon_feature(fields: QgsFields, wkb: bytes, attributes: dict) -> QgsFeature:
    """A result feature: the (multi)polygon from WKB and the attributes named by ``fields``."""
    feature = QgsFeature(fields)
    geometry = QgsGeometry()
    geometry.fromWkb(wkb)
    geometry.convertToMultiType()
    feature.setGeometry(geometry)
    for field in fields:
        feature[field.name()] = _rounded(field.name(), attributes.get(field.name()))
    return feature


def _rounded(name: str, value):
    """Measured values to the decimals of ROUNDING (NaN and missing values as they are)."""
    if name in ROUNDING and isinstance(value, (int, float)) and math.isfinite(value):
        return round(float(value), ROUNDING[name])
    return value


def write_polygons(
    gpkg: Path, layer_name: str, crs_wkt: str | QgsCoordinateReferenceSystem, polygons: Sequence[tuple[bytes, dict]]
) -> QgsVectorLayer:
    """Write (WKB, attributes) rows as a new MultiPolygon layer of ``gpkg`` and return it loaded and styled.

    A layer of that name already in ``gpkg`` is an error: results are never overwritten (see result_layer_name).
    """
    gpkg = Path(gpkg)
    try:
        gpkg.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultWriteError(tr("Cannot create the folder for {}: {}").format(gpkg, exc.strerror or exc)) from exc
    if isinstance(crs_wkt, QgsCoordinateReferenceSystem):  # kept as QGIS holds it: no WKT round trip
        crs = crs_wkt
    else:
        crs = QgsCoordinateReferenceSystem.fromWkt(crs_wkt) if crs_wkt else QgsCoordinateReferenceSystem()
    fields = fields_of(RESULT_FIELDS)

    rows = (polygon_feature(fields, wkb, attributes) for wkb, attributes in polygons)
    _write(gpkg, layer_name, RESULT_FIELDS, QgsWkbTypes.MultiPolygon, crs, rows)
    layer = QgsVectorLayer(f"{gpkg}|layername={layer_name}", layer_name, "ogr")
    if not layer.isValid():
        raise ResultWriteError(tr("The result layer {} could not be reopened from {}.").format(layer_name, gpkg))
    style_by_phrase(layer)
    return layer


def write_conversation(gpkg: Path, turns: Sequence[dict]) -> None:
    """Store the conversation (turn, role, text, layer, created) as a non-spatial table of ``gpkg``."""
    fields = fields_of(CONVERSATION_FIELDS)

    def rows():
        for turn in turns:
            feature = QgsFeature(fields)
            for name, _ in CONVERSATION_FIELDS:
                feature[name] = turn.get(name)
            yield feature

    _write(
        Path(gpkg),
        CONVERSATION_TABLE,
        CONVERSATION_FIELDS,
        QgsWkbTypes.NoGeometry,
        QgsCoordinateReferenceSystem(),
        rows(),
        replace=True,
    )


def copy_layers(
    layers: Sequence[QgsVectorLayer],
    gpkg: Path,
    turns: Sequence[dict],
    transform_context: QgsCoordinateTransformContext,
) -> tuple[dict[str, str], list[dict]]:
    """Copy ``layers`` into ``gpkg`` as new tables, never replacing one (a taken name gets a suffix).

    Returns {layer id: table written} and ``turns`` with their layer names changed to the tables written, so the
    conversation still names its layers.
    """
    gpkg = Path(gpkg)
    taken = gpkg_layer_names(gpkg)
    tables: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for layer in layers:
        old = source_table(layer)[1] or layer.name()
        new = unique_layer_name(old, taken)
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = new
        options.actionOnExistingFile = (
            QgsVectorFileWriter.CreateOrOverwriteLayer if gpkg.exists() else QgsVectorFileWriter.CreateOrOverwriteFile
        )
        error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(gpkg), transform_context, options)
        if error != QgsVectorFileWriter.NoError:
            raise ResultWriteError(tr("Cannot export layer {}: {}").format(layer.name(), message))
        taken.append(new)
        tables[layer.id()] = new
        renamed.setdefault(old, new)
    moved = [dict(turn, layer=renamed.get(turn.get("layer") or "", turn.get("layer"))) for turn in turns]
    return tables, moved


def read_conversation(gpkg: Path) -> list[dict]:
    """The conversation table of ``gpkg`` in turn order (empty when there is none)."""
    if not Path(gpkg).is_file():  # not written yet: no need for OGR to log that it cannot open it
        return []
    table = QgsVectorLayer(f"{gpkg}|layername={CONVERSATION_TABLE}", CONVERSATION_TABLE, "ogr")
    if not table.isValid():
        return []
    names = [name for name, _ in CONVERSATION_FIELDS]
    turns = [{name: feature[name] for name in names} for feature in table.getFeatures()]
    return sorted(turns, key=lambda t: t["turn"])


def style_by_phrase(layer: QgsVectorLayer) -> None:
    """Categorise by phrase: semi-transparent fill, solid outline, one stable colour per phrase."""
    index = layer.fields().indexOf("phrase")
    phrases = sorted({str(v) for v in layer.uniqueValues(index)}) if index >= 0 else []
    categories = []
    for phrase in phrases:
        color = phrase_color(phrase)
        symbol = QgsFillSymbol.createSimple(
            {
                "color": f"{color.red()},{color.green()},{color.blue()},90",
                "outline_color": f"{color.red()},{color.green()},{color.blue()},255",
                "outline_width": "0.5",
            }
        )
        categories.append(QgsRendererCategory(phrase, symbol, phrase))
    layer.setRenderer(QgsCategorizedSymbolRenderer("phrase", categories))
    layer.triggerRepaint()
