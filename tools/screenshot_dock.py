"""Render the chat dock beside a map canvas with a real result, for the README and the user guide.

Usage (from the repository root, with a display or under Xvfb):
    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tools/screenshot_dock.py RASTER "INSTRUCTION" OUT.png \
        [--model demo]
It loads the plugin's real dock and controller into a plain Qt main window with a QGIS map canvas, runs the
instruction on the whole raster and saves a picture of the window once the result layer is drawn.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raster")
    parser.add_argument("instruction")
    parser.add_argument("output")
    parser.add_argument("--model", default="demo")
    parser.add_argument("--size", default="1400x860")
    args = parser.parse_args()

    link_dir = Path(tempfile.mkdtemp())
    (link_dir / "geoground").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(link_dir))

    from qgis.core import QgsApplication, QgsProject, QgsRasterLayer
    from qgis.gui import QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtCore import QCoreApplication, Qt
    from qgis.PyQt.QtWidgets import QMainWindow, QVBoxLayout, QWidget

    app = QgsApplication([], True)
    app.initQgis()

    from geoground.plugin.controller import ChatController
    from geoground.plugin.ui.chat_dock import ChatDock

    window = QMainWindow()
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.setWindowTitle("QGIS — GeoGround")
    central = QWidget(window)
    layout = QVBoxLayout(central)
    bar = QgsMessageBar(central)
    canvas = QgsMapCanvas(central)
    layout.addWidget(bar)
    layout.addWidget(canvas, 1)
    window.setCentralWidget(central)

    class Iface:
        def mapCanvas(self):  # noqa: N802
            return canvas

        def mainWindow(self):  # noqa: N802
            return window

        def messageBar(self):  # noqa: N802
            return bar

    project = QgsProject.instance()
    project.setFileName(str(Path(tempfile.mkdtemp()) / "screenshot.qgz"))
    layer = QgsRasterLayer(args.raster, Path(args.raster).stem)
    if not layer.isValid():
        print(f"error: cannot open {args.raster}", file=sys.stderr)
        return 2
    project.addMapLayer(layer)
    canvas.setDestinationCrs(layer.crs())
    canvas.setLayers([layer])
    canvas.setExtent(layer.extent())

    dock = ChatDock(window)
    window.addDockWidget(Qt.RightDockWidgetArea, dock)
    dock.setMinimumWidth(430)
    controller = ChatController(Iface(), dock)
    project.layersAdded.connect(lambda added: canvas.setLayers([*added, *canvas.layers()]))
    window.show()
    dock.model_combo.setCurrentText(args.model)
    dock.scope_combo.setCurrentIndex(dock.scope_combo.findData("layer"))
    dock.layer_combo.setLayer(layer)
    dock.input.setText(args.instruction)
    dock.submit()
    deadline = time.monotonic() + 600
    while controller.task is not None and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    canvas.refreshAllLayers()
    end = time.monotonic() + 3
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        time.sleep(0.02)
    window.grab().save(args.output)
    print(f"wrote {args.output}")
    print(dock.conversation.toPlainText())
    project.clear()
    window.close()
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
