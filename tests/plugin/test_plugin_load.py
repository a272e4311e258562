"""The plugin loads into a real QgsApplication as QGIS loads it, and unloads without leaving anything behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtWidgets import QDockWidget, QToolBar

from .conftest import flush_deleted_widgets

REPO_ROOT = Path(__file__).resolve().parents[2]


def _our_docks(main_window) -> list[QDockWidget]:
    return [d for d in main_window.findChildren(QDockWidget) if d.objectName() == "GeoGroundChatDock"]


def _our_toolbars(main_window) -> list[QToolBar]:
    return [t for t in main_window.findChildren(QToolBar) if t.objectName() == "GeoGroundToolbar"]


def test_load_adds_dock_actions_and_provider(loaded_plugin, qgis_iface):
    import qgis.utils

    assert type(loaded_plugin).__name__ == "GeoGroundPlugin"
    assert "geoground" in qgis.utils.active_plugins
    assert len(_our_docks(qgis_iface.mainWindow())) == 1
    assert [a.objectName() for a in loaded_plugin.actions] == ["GeoGroundChatAction", "GeoGroundInstallAction"]
    toolbar = _our_toolbars(qgis_iface.mainWindow())[0]
    assert loaded_plugin.actions[0] in toolbar.actions()
    menu_calls = [c.args for c in qgis_iface.addPluginToRasterMenu.call_args_list]
    assert any(args[1] is loaded_plugin.actions[0] for args in menu_calls)
    assert QgsApplication.processingRegistry().providerById("geoground") is not None
    assert qgis_iface.registerOptionsWidgetFactory.call_args.args[0] is loaded_plugin.options_factory


def test_right_click_actions_are_for_raster_layers_only(loaded_plugin, qgis_iface):
    from qgis.core import QgsMapLayerType

    calls = [c.args for c in qgis_iface.addCustomActionForLayerType.call_args_list]
    ours = [args for args in calls if any(args[0] is a for a in loaded_plugin.layer_actions)]
    assert {args[0].objectName() for args in ours} == {"GeoGroundSegmentAllAction", "GeoGroundCustomInstructionAction"}
    assert all(args[2] == QgsMapLayerType.RasterLayer for args in ours)
    segment_all = next(a for a in loaded_plugin.layer_actions if a.objectName() == "GeoGroundSegmentAllAction")
    labels = [a.text() for a in segment_all.menu().actions()]
    assert "storage tanks" in labels and "buildings" in labels and "ships" in labels


def test_chat_action_toggles_dock(loaded_plugin):
    action = loaded_plugin.actions[0]
    action.setChecked(True)
    assert loaded_plugin.dock.isVisibleTo(loaded_plugin.dock.parentWidget())
    action.setChecked(False)
    assert not loaded_plugin.dock.isVisibleTo(loaded_plugin.dock.parentWidget())


def test_unload_leaves_nothing_behind(loaded_plugin, qgis_iface, plugin_package):
    import qgis.utils

    actions = list(loaded_plugin.actions)
    assert qgis.utils.unloadPlugin(plugin_package)
    flush_deleted_widgets()
    assert plugin_package not in qgis.utils.active_plugins
    assert QgsApplication.processingRegistry().providerById("geoground") is None
    assert _our_docks(qgis_iface.mainWindow()) == []
    assert _our_toolbars(qgis_iface.mainWindow()) == []
    removed = [c.args[1] for c in qgis_iface.removePluginRasterMenu.call_args_list]
    assert all(any(a is r for r in removed) for a in actions)
    assert loaded_plugin.actions == [] and loaded_plugin.dock is None
    removed_layer_actions = [c.args[0] for c in qgis_iface.removeCustomActionForLayerType.call_args_list]
    assert len(removed_layer_actions) >= 2 and loaded_plugin.layer_actions == []
    assert qgis_iface.unregisterOptionsWidgetFactory.called


def test_empty_instruction_is_refused_in_the_dock(loaded_plugin):
    seen = []
    loaded_plugin.dock.instruction_submitted.connect(lambda layer, text: seen.append(text))
    loaded_plugin.dock.input.setText("   ")
    loaded_plugin.dock.submit()
    assert seen == []
    assert "Type an instruction" in loaded_plugin.dock.conversation.toPlainText()


def run_qgis_load_check(plugins_dir: Path, package: str, *extra: str) -> subprocess.CompletedProcess:
    """Run qgis_load_check.py in a fresh Python process (see its docstring)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    script = Path(__file__).with_name("qgis_load_check.py")
    return subprocess.run(
        [sys.executable, str(script), str(plugins_dir), package, *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_plugin_loads_without_engine_dependencies(tmp_path, plugin_package):
    """With torch & co. unimportable, loading must not raise: a message bar lists what is missing."""
    (tmp_path / plugin_package).symlink_to(REPO_ROOT, target_is_directory=True)
    result = run_qgis_load_check(tmp_path, plugin_package, "--block-engine")
    assert "LOADED-OK" in result.stdout, result.stdout + result.stderr


def test_menu_classes_are_classes_the_model_knows(loaded_plugin):
    from geoground.engine.data.templates import SEGMENT_ALL_MENU
    from geoground.plugin.main import segment_all_classes

    assert set(segment_all_classes()) <= set(SEGMENT_ALL_MENU)
