"""Export chosen result layers and the conversation to a GeoPackage the user picks, with QGIS's vector writer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from qgis.core import QgsProject, QgsVectorFileWriter, QgsVectorLayer

from .i18n import tr
from .result_layers import ResultWriteError, write_conversation

RESULT_PROPERTY = "geoground/result"  # custom layer property marking our result layers


def result_layers(project: QgsProject | None = None) -> list[QgsVectorLayer]:
    """The project's GeoGround result layers, in the order they were added."""
    project = project or QgsProject.instance()
    return [
        layer
        for layer in project.mapLayers().values()
        if isinstance(layer, QgsVectorLayer) and layer.customProperty(RESULT_PROPERTY, False)
    ]


def export_results(layers: Sequence[QgsVectorLayer], turns: Sequence[dict], destination: Path) -> Path:
    """Write ``layers`` (one GeoPackage layer each, same names) and the conversation table to ``destination``.

    Atomic: everything goes to a temporary file beside the destination, which replaces it only when complete, so an
    existing file is never left half-written.
    """
    destination = Path(destination)
    if not layers:
        raise ResultWriteError(tr("There are no result layers to export."))
    temporary = destination.with_name(destination.stem + ".partial.gpkg")
    try:
        for index, layer in enumerate(layers):
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            options.layerName = layer.name()
            options.actionOnExistingFile = (
                QgsVectorFileWriter.CreateOrOverwriteFile if index == 0 else QgsVectorFileWriter.CreateOrOverwriteLayer
            )
            error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
                layer, str(temporary), QgsProject.instance().transformContext(), options
            )
            if error != QgsVectorFileWriter.NoError:
                raise ResultWriteError(tr("Cannot export layer {}: {}").format(layer.name(), message))
        write_conversation(temporary, turns)
        os.replace(temporary, destination)
    finally:
        if temporary.exists():
            temporary.unlink()
    return destination
