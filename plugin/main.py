"""The plugin object QGIS creates through classFactory: it owns the dock, the actions and the provider."""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .dependencies import missing_dependencies
from .i18n import install_translator, tr
from .resources import icon_path

MENU = "&GeoGround"


class GeoGroundPlugin:
    """Creates everything in initGui and removes all of it in unload, so reloading leaves nothing behind."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.translator = install_translator()
        self.actions: list[QAction] = []
        self.dock = None
        self.provider = None
        self.toolbar = None

    def initGui(self) -> None:  # noqa: N802 - QGIS API name
        from .processing.provider import GeoGroundProvider
        from .ui.chat_dock import ChatDock

        self.provider = GeoGroundProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

        self.dock = ChatDock(self.iface.mainWindow())
        self.dock.instruction_submitted.connect(self._on_instruction)
        self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.hide()

        self.toolbar = self.iface.addToolBar(tr("GeoGround"))
        self.toolbar.setObjectName("GeoGroundToolbar")
        chat_action = QAction(QIcon(str(icon_path())), tr("GeoGround chat"), self.iface.mainWindow())
        chat_action.setObjectName("GeoGroundChatAction")
        chat_action.setCheckable(True)
        chat_action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(chat_action.setChecked)
        self._add_action(chat_action)

        missing = missing_dependencies()
        if missing:
            self.iface.messageBar().pushMessage(
                tr("GeoGround"),
                tr("The engine needs Python packages that are not installed: {}.").format(", ".join(missing)),
                level=Qgis.Warning,
                duration=0,
            )

    def _add_action(self, action: QAction) -> None:
        self.iface.addPluginToRasterMenu(MENU, action)
        self.toolbar.addAction(action)
        self.actions.append(action)

    def _on_instruction(self, layer, text: str) -> None:
        missing = missing_dependencies()
        if missing:
            self.dock.show_notice(tr("Cannot run: missing Python packages {}.").format(", ".join(missing)))
            return
        self.dock.show_notice(tr("The engine is not connected to the dock in this version."))

    def unload(self) -> None:
        for action in self.actions:
            self.iface.removePluginRasterMenu(MENU, action)
            action.deleteLater()
        self.actions.clear()
        if self.toolbar is not None:
            self.toolbar.deleteLater()
            self.toolbar = None
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            from qgis.PyQt.QtCore import QCoreApplication

            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
