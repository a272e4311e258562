"""Result layers: polygons and the conversation written to a GeoPackage with QGIS's own writer, then styled.

Results are never kept only in memory: each answer becomes a layer of a GeoPackage on disk, so closing QGIS loses
nothing. The polygon layer is categorised by phrase with the same colour the dock uses for that phrase.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Iterable, Sequence
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
    QgsRendererCategory,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant
from qgis.PyQt.QtGui import QColor

from .i18n import tr

RESULT_FIELDS: tuple[tuple[str, QVariant.Type], ...] = (
    ("phrase", QVariant.String),
    ("class", QVariant.String),
    ("score", QVariant.Double),
    ("area_m2", QVariant.Double),
    ("perimeter_m", QVariant.Double),
    ("instruction", QVariant.String),
    ("model", QVariant.String),
    ("created", QVariant.String),
)
CONVERSATION_TABLE = "conversation"
CONVERSATION_FIELDS: tuple[tuple[str, QVariant.Type], ...] = (
    ("turn", QVariant.Int),
    ("role", QVariant.String),
    ("text", QVariant.String),
    ("layer", QVariant.String),
    ("created", QVariant.String),
)


class ResultWriteError(OSError):
    """The GeoPackage could not be written; the message is meant for the user."""


def phrase_color(phrase: str) -> QColor:
    """A stable, distinct colour per phrase (the same in the map and in the dock's conversation view)."""
    digest = hashlib.blake2s(phrase.strip().lower().encode("utf-8"), digest_size=4).digest()
    hue = digest[0] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return QColor(int(r * 255), int(g * 255), int(b * 255))


def fields_of(spec: Sequence[tuple[str, QVariant.Type]]) -> QgsFields:
    fields = QgsFields()
    for name, kind in spec:
        fields.append(QgsField(name, kind))
    return fields


def _write(
    gpkg: Path, layer_name: str, spec, geometry_type, crs: QgsCoordinateReferenceSystem, rows: Iterable[QgsFeature]
) -> None:
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
        feature[field.name()] = attributes.get(field.name())
    return feature


def write_polygons(gpkg: Path, layer_name: str, crs_wkt: str, polygons: Sequence[tuple[bytes, dict]]) -> QgsVectorLayer:
    """Write (WKB, attributes) rows as a MultiPolygon layer of ``gpkg`` and return it loaded and styled."""
    gpkg = Path(gpkg)
    try:
        gpkg.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultWriteError(tr("Cannot create the folder for {}: {}").format(gpkg, exc.strerror or exc)) from exc
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
    )


def read_conversation(gpkg: Path) -> list[dict]:
    """The conversation table of ``gpkg`` in turn order (empty when there is none)."""
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
