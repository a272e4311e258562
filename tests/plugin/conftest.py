"""Fixtures for plugin tests: the plugin loaded through qgis.utils as QGIS loads an installed plugin."""

from __future__ import annotations

import sys

import pytest
from qgis.PyQt.QtCore import QEvent
from qgis.PyQt.QtWidgets import QApplication

from .chat_doubles import controller, scene, use_model  # noqa: F401 - fixtures shared by the chat tests


def flush_deleted_widgets() -> None:
    """Deliver pending deleteLater() calls, as QGIS's event loop would."""
    QApplication.processEvents()
    QApplication.sendPostedEvents(None, QEvent.DeferredDelete)


@pytest.fixture
def loaded_plugin(qgis_iface, qgis_app, plugin_package, plugins_dir):
    """Find, import and start the plugin through qgis.utils (classFactory + initGui); unload it afterwards."""
    import qgis.utils

    flush_deleted_widgets()
    qgis_iface.messageBar().clear_messages()
    if str(plugins_dir) not in qgis.utils.plugin_paths:
        qgis.utils.plugin_paths.append(str(plugins_dir))
    qgis.utils.updateAvailablePlugins()
    assert plugin_package in qgis.utils.available_plugins, "qgis.utils did not find the plugin (metadata.txt?)"
    assert qgis.utils.loadPlugin(plugin_package), "qgis.utils could not import the plugin package"
    assert qgis.utils.startPlugin(plugin_package), "qgis.utils could not start the plugin"
    yield qgis.utils.plugins[plugin_package]
    if plugin_package in qgis.utils.active_plugins:
        assert qgis.utils.unloadPlugin(plugin_package)
    # qgis.utils purges only the modules it saw the plugin import; drop the rest too, so later tests import one
    # consistent copy of the package instead of a mix of old and new modules.
    for name in [m for m in sys.modules if m == plugin_package or m.startswith(plugin_package + ".")]:
        del sys.modules[name]


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """The system's temporary folder, here one the test can wipe as a reboot does."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder
