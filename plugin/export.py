"""Export chosen result layers and the conversation to a GeoPackage the user picks, with QGIS's vector writer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from qgis.core import QgsProject, QgsVectorLayer

from .i18n import tr
from .result_layers import ResultWriteError, copy_layers, write_conversation

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
    """Write ``layers`` (one GeoPackage layer each, named as their tables; a name taken twice gets a suffix) and
    the conversation table to ``destination``.

    Atomic: everything goes to a temporary file beside the destination, which replaces it only when complete, so an
    existing file is never left half-written.
    """
    destination = Path(destination)
    if not layers:
        raise ResultWriteError(tr("There are no result layers to export."))
    temporary = destination.with_name(destination.stem + ".partial.gpkg")
    try:
        if temporary.exists():
            temporary.unlink()  # left by an export that was interrupted
        # Layers of the same name (renamed by the user, or from two GeoPackages) each keep their own table.
        _, turns = copy_layers(layers, temporary, turns, QgsProject.instance().transformContext())
        write_conversation(temporary, turns)
        os.replace(temporary, destination)
    finally:
        if temporary.exists():
            temporary.unlink()
    return destination
