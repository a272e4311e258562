"""The plugin object QGIS creates through classFactory: it owns the dock, the actions and the provider."""

from __future__ import annotations

from qgis.core import Qgis, QgsApplication, QgsMapLayerType
from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from .dependencies import activate_private_site, missing_dependencies
from .i18n import install_translator, tr
from .qt_compat import QAction
from .resources import icon_path

MENU = "&GeoGround"


def segment_all_classes() -> dict[str, str]:
    """The "Segment all..." menu: the class words the model is trained on (engine.data.templates) -> menu label."""
    return {
        "storage tanks": tr("storage tanks"),
        "buildings": tr("buildings"),
        "ships": tr("ships"),
        "airplanes": tr("airplanes"),
        "vehicles": tr("vehicles"),
        "roads": tr("roads"),
        "water bodies": tr("water bodies"),
    }


class GeoGroundPlugin:
    """Creates everything in initGui and removes all of it in unload, so reloading leaves nothing behind."""

    def __init__(self, iface) -> None:
        self.iface = iface
        self.translator = install_translator()
        self.actions: list[QAction] = []
        self.layer_actions: list[QAction] = []
        self.dock = None
        self.provider = None
        self.toolbar = None
        self.options_factory = None
        self.controller = None
        self.missing_message = None

    def initProcessing(self) -> None:  # noqa: N802 - QGIS API name; qgis_process calls only this
        activate_private_site()  # packages installed earlier by the plugin itself
        if self.provider is None:
            from .processing.provider import GeoGroundProvider

            self.provider = GeoGroundProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802 - QGIS API name
        from .controller import ChatController
        from .settings import SettingsPageFactory
        from .ui.chat_dock import ChatDock

        self.initProcessing()
        self.options_factory = SettingsPageFactory()
        self.iface.registerOptionsWidgetFactory(self.options_factory)

        self.dock = ChatDock(self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.controller = ChatController(self.iface, self.dock)

        self.toolbar = self.iface.addToolBar(tr("GeoGround"))
        self.toolbar.setObjectName("GeoGroundToolbar")
        chat_action = QAction(QIcon(str(icon_path())), tr("GeoGround chat"), self.iface.mainWindow())
        chat_action.setObjectName("GeoGroundChatAction")
        chat_action.setCheckable(True)
        chat_action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(chat_action.setChecked)
        self.iface.addPluginToRasterMenu(MENU, chat_action)
        self.toolbar.addAction(chat_action)
        self.actions.append(chat_action)
        install_action = QAction(tr("Install engine dependencies…"), self.iface.mainWindow())
        install_action.setObjectName("GeoGroundInstallAction")
        install_action.triggered.connect(self._install_dependencies)
        self.iface.addPluginToRasterMenu(MENU, install_action)
        self.actions.append(install_action)
        self._add_layer_menu()

        missing = missing_dependencies()
        if missing:
            bar = self.iface.messageBar()
            warning = bar.createMessage(
                tr("GeoGround"),
                tr("The engine needs Python packages that are not installed: {}.").format(", ".join(missing))
                + " "
                + tr("Use Raster → GeoGround → Install engine dependencies…"),
            )
            self.missing_message = bar.pushWidget(warning, Qgis.Warning)
            from .installer import EVENTS

            EVENTS.installed.connect(self._dependencies_installed)

    def _dependencies_installed(self) -> None:
        """The packages are there now: the warning about missing ones goes."""
        if self.missing_message is not None:
            try:
                self.iface.messageBar().popWidget(self.missing_message)
            except RuntimeError:  # the user closed it already
                pass
            self.missing_message = None

    def _install_dependencies(self) -> None:
        """Ask how to install (online or from a folder of wheels), saying which PyTorch build and about how much it
        downloads before anything starts, then run pip in the background with a progress bar in the message bar."""
        from collections.abc import Callable
        from pathlib import Path

        from qgis.PyQt.QtWidgets import QProgressBar

        from .dependencies import choose_torch_build, engine_requirements, forget_dependency_check, private_site_dir
        from .installer import install_summary, start_install

        if getattr(self, "install_task", None) is not None:
            self.iface.messageBar().pushMessage(
                tr("GeoGround"), tr("The engine's packages are being installed already."), level=Qgis.Info, duration=5
            )
            return
        forget_dependency_check()  # ask afresh: packages may have been installed since QGIS started
        missing = missing_dependencies()
        if not missing:
            self.iface.messageBar().pushMessage(
                tr("GeoGround"), tr("All engine dependencies are installed."), level=Qgis.Success, duration=5
            )
            return
        build = choose_torch_build()
        box = QMessageBox(self.iface.mainWindow())
        box.setWindowTitle(tr("Install engine dependencies"))
        box.setText(
            tr("Install {} into {}? QGIS's own Python packages are not changed.").format(
                ", ".join(missing), private_site_dir()
            )
        )
        box.setInformativeText(
            install_summary(build, "torch" in missing)
            + "\n"
            + tr("Installing from a folder of wheels downloads nothing.")
        )
        online = box.addButton(tr("Install from the internet"), QMessageBox.ButtonRole.AcceptRole)
        offline = box.addButton(tr("Install from a folder of wheels…"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        wheel_dir = None
        if box.clickedButton() is offline:
            chosen = QFileDialog.getExistingDirectory(self.iface.mainWindow(), tr("Folder of wheels"))
            if not chosen:
                return
            wheel_dir = Path(chosen)
        elif box.clickedButton() is not online:
            return

        bar = self.iface.messageBar()
        item = bar.createMessage(tr("GeoGround"), tr("Installing the engine's packages…"))
        progress = QProgressBar()
        progress.setRange(0, 100)
        progress.setMaximumWidth(300)
        item.layout().addWidget(progress)
        bar.pushWidget(item, Qgis.Info)

        def show(update: Callable[[], None]) -> None:
            try:
                update()
            except RuntimeError:  # the user closed the message: nothing left to update
                pass

        def done(ok: bool, message: str) -> None:  # noqa: FBT001 - start_install's callback
            self.install_task = None
            show(lambda: bar.popWidget(item))
            level = Qgis.Success if ok else Qgis.Critical
            bar.pushMessage(tr("GeoGround"), message, level=level, duration=0)

        task = start_install(done, engine_requirements(missing), wheel_dir, build=None if wheel_dir else build)
        task.progressChanged.connect(lambda value: show(lambda: progress.setValue(int(value))))
        task.status_changed.connect(lambda phase: show(lambda: item.setText(phase)))
        self.install_task = task

    def _add_layer_menu(self) -> None:
        """Right-click on raster layers in the Layers panel: "Segment all..." and "Custom instruction..."."""
        segment_all = QAction(QIcon(str(icon_path())), tr("Segment all…"), self.iface.mainWindow())
        segment_all.setObjectName("GeoGroundSegmentAllAction")
        menu = QMenu(self.iface.mainWindow())
        for name, label in segment_all_classes().items():
            item = menu.addAction(label)
            item.triggered.connect(lambda _checked=False, n=name: self._segment_all(n))
        segment_all.setMenu(menu)
        custom = QAction(tr("Custom instruction…"), self.iface.mainWindow())
        custom.setObjectName("GeoGroundCustomInstructionAction")
        custom.triggered.connect(self._custom_instruction)
        for action in (segment_all, custom):
            self.iface.addCustomActionForLayerType(action, tr("GeoGround"), QgsMapLayerType.RasterLayer, True)
            self.layer_actions.append(action)

    def _segment_all(self, class_name: str) -> None:
        # The instruction stays in English: it is what the model was trained to read.
        self._run_on_active_layer(f"Segment all {class_name}")

    def _custom_instruction(self) -> None:
        text, ok = QInputDialog.getText(self.iface.mainWindow(), tr("GeoGround"), tr("Instruction for this layer:"))
        if ok and text.strip():
            self._run_on_active_layer(text.strip())

    def _run_on_active_layer(self, instruction: str) -> None:
        layer = self.iface.activeLayer()
        self.dock.show()
        if layer is not None and layer.type() == QgsMapLayerType.RasterLayer:
            self.dock.layer_combo.setLayer(layer)
        self.dock.input.setText(instruction)
        self.dock.submit()

    def unload(self) -> None:
        from .installer import EVENTS

        try:
            EVENTS.installed.disconnect(self._dependencies_installed)
        except (TypeError, RuntimeError):  # never connected
            pass
        self._dependencies_installed()
        if self.controller is not None:
            self.controller.shutdown()
            self.controller = None
        for action in self.layer_actions:
            self.iface.removeCustomActionForLayerType(action)
            action.deleteLater()
        self.layer_actions.clear()
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
        if self.options_factory is not None:
            self.iface.unregisterOptionsWidgetFactory(self.options_factory)
            self.options_factory = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.translator is not None:
            QCoreApplication.removeTranslator(self.translator)
            self.translator = None
