"""Load a plugin in a fresh QGIS process the way QGIS does, then unload it; prints LOADED-OK on success.

Usage: python qgis_load_check.py PLUGINS_DIR PACKAGE [--block-engine]
--block-engine makes torch, transformers, ... unimportable, as on a QGIS without the engine's dependencies.
Run as a separate process so the package name does not clash with the copy the test session imported.
"""

import sys

plugins_dir, package = sys.argv[1], sys.argv[2]
block_engine = "--block-engine" in sys.argv
if block_engine:
    for name in ("torch", "transformers", "peft", "safetensors", "huggingface_hub"):
        sys.modules[name] = None  # any import of it now fails, as if not installed

from qgis.core import Qgis, QgsApplication  # noqa: E402
from qgis.gui import QgsMessageBar  # noqa: E402
from qgis.PyQt.QtWidgets import QMainWindow  # noqa: E402

app = QgsApplication([], False)
app.initQgis()


class Iface:
    """The QgisInterface calls the plugin makes, recorded."""

    def __init__(self):
        self.window, self.menu_actions = QMainWindow(), []
        self.layer_actions, self.options_pages = [], []
        self.bar = QgsMessageBar(self.window)

    @property
    def warnings(self):
        return [item.text() for item in self.bar.items() if item.level() == Qgis.Warning]

    def mainWindow(self):  # noqa: N802
        return self.window

    def messageBar(self):  # noqa: N802
        return self.bar

    def addDockWidget(self, area, dock):  # noqa: N802
        self.window.addDockWidget(area, dock)

    def removeDockWidget(self, dock):  # noqa: N802
        self.window.removeDockWidget(dock)

    def addToolBar(self, name):  # noqa: N802
        return self.window.addToolBar(name)

    def addPluginToRasterMenu(self, menu, action):  # noqa: N802
        self.menu_actions.append(action)

    def removePluginRasterMenu(self, menu, action):  # noqa: N802
        self.menu_actions.remove(action)

    def addCustomActionForLayerType(self, action, menu, layer_type, all_layers):  # noqa: N802
        self.layer_actions.append(action)

    def removeCustomActionForLayerType(self, action):  # noqa: N802
        self.layer_actions.remove(action)
        return True

    def registerOptionsWidgetFactory(self, factory):  # noqa: N802
        self.options_pages.append(factory)

    def unregisterOptionsWidgetFactory(self, factory):  # noqa: N802
        self.options_pages.remove(factory)


import qgis.utils  # noqa: E402

iface = Iface()
qgis.utils.iface = iface
sys.path.insert(0, plugins_dir)
qgis.utils.plugin_paths.append(plugins_dir)
qgis.utils.updateAvailablePlugins()
assert package in qgis.utils.available_plugins, f"QGIS found no plugin '{package}' in {plugins_dir}"
assert qgis.utils.loadPlugin(package), "import failed"
assert qgis.utils.startPlugin(package), "start failed"
assert iface.menu_actions and iface.layer_actions and iface.options_pages, "actions or options page missing"
module_file = sys.modules[package].__file__
assert module_file.startswith(plugins_dir), f"loaded {module_file}, not the copy in {plugins_dir}"
if block_engine:
    assert any("torch" in w and "transformers" in w for w in iface.warnings), iface.warnings
    assert sys.modules.get("torch") is None, "the plugin imported torch at load time"
else:
    import importlib

    engine = importlib.import_module(f"{package}.engine")
    assert engine.__file__.startswith(plugins_dir), engine.__file__
assert qgis.utils.unloadPlugin(package), "unload failed"
assert not iface.menu_actions, "menu actions left after unload"
assert not iface.warnings, f"messages left in the message bar after unload: {iface.warnings}"
assert not iface.layer_actions and not iface.options_pages, "layer actions or options page left after unload"
print("LOADED-OK")
