"""The README's description of the Layers panel menu is the menu the plugin adds."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_names_the_layer_menu_the_plugin_adds(loaded_plugin, qgis_iface):
    from qgis.core import QgsMapLayerType

    from geoground.plugin.main import segment_all_classes

    added = {
        call.args[0].objectName(): call.args
        for call in qgis_iface.addCustomActionForLayerType.call_args_list
        if any(call.args[0] is action for action in loaded_plugin.layer_actions)
    }
    segment_all = added["GeoGroundSegmentAllAction"]
    custom = added["GeoGroundCustomInstructionAction"]
    for _action, menu, layer_type, _all_layers in (segment_all, custom):
        assert menu == "GeoGround" and layer_type == QgsMapLayerType.RasterLayer
    text = " ".join(README.read_text(encoding="utf-8").split())  # the README wraps lines
    assert f"*{custom[1]} → {custom[0].text()}*" in text
    assert f"*{segment_all[1]} → {segment_all[0].text()} →* one of" in text
    classes = [item.text() for item in segment_all[0].menu().actions()]
    assert classes == list(segment_all_classes().values())
    assert ", ".join(f"*{label}*" for label in classes) in text
