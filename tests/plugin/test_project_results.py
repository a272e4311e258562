"""Results of the chat dock across the project's life: saved beside the project, reopened with their phrase links,
one store per unsaved project, never overwritten, nothing-found answers, refused and failed turns."""

from __future__ import annotations

import shutil
import time
import zipfile
from datetime import datetime

import pytest
from qgis.core import QgsCategorizedSymbolRenderer, QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QCoreApplication

from .chat_doubles import DISCS, StreamingDouble, ask, result_layers, wait_for


@pytest.fixture
def unsaved(scene, temp_dir):
    """The scene's raster in a project that has never been saved."""
    layer, folder = scene
    QgsProject.instance().setFileName("")
    return layer, folder


def stored_turns(gpkg):
    from geoground.plugin.result_layers import read_conversation

    return [(t["role"], t["text"], t["layer"] or "") for t in read_conversation(gpkg)]


def gpkg_of(layer):
    from geoground.plugin.result_layers import source_table

    return source_table(layer)[0]


def test_a_saved_project_reopens_every_result_from_beside_it(unsaved, controller, use_model, temp_dir):
    layer, folder = unsaved
    use_model(StreamingDouble())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    [result] = result_layers()
    store = gpkg_of(result)
    assert temp_dir in store.parents
    project = QgsProject.instance()
    saved = folder / "saved.qgz"
    assert project.write(str(saved))
    assert not project.isDirty()
    beside = folder / "saved_geoground.gpkg"
    assert gpkg_of(result) == beside and result.featureCount() == len(DISCS)
    assert isinstance(result.renderer(), QgsCategorizedSymbolRenderer)
    assert not store.parent.exists()  # the temporary store went with the move
    with zipfile.ZipFile(saved) as archive:
        [qgs] = [name for name in archive.namelist() if name.endswith(".qgs")]
        document = archive.read(qgs).decode("utf-8")
    assert str(temp_dir) not in document and "saved_geoground.gpkg|layername=" in document

    project.clear()
    assert controller.dock.conversation.toPlainText() == ""
    shutil.rmtree(temp_dir)  # a reboot empties the temporary folder
    assert project.read(str(saved))
    [reopened] = result_layers()
    assert reopened.isValid() and reopened.featureCount() == len(DISCS) and gpkg_of(reopened) == beside
    history = controller.dock.conversation.toPlainText()
    assert "Segment all discs" in history and f"{len(DISCS)} discs, " in history
    assert [role for role, _, _ in stored_turns(beside)] == ["user", "assistant"]
    # the answer's phrase is a link to the reopened layer again, in the phrase's colour
    html = controller.dock.conversation.toHtml()
    assert f"phrase:{reopened.id()}/disc" in html
    controller.dock.phrase_clicked.emit(reopened.id(), "disc")
    assert len(reopened.selectedFeatureIds()) == len(DISCS)


def test_save_as_copies_the_results_beside_the_new_name(scene, controller, use_model):
    layer, folder = scene  # saved as project.qgz
    use_model(StreamingDouble())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    [result] = result_layers()
    project = QgsProject.instance()
    assert project.write()
    first = folder / "project_geoground.gpkg"
    assert gpkg_of(result) == first
    assert project.write(str(folder / "copy.qgz"))
    second = folder / "copy_geoground.gpkg"
    assert gpkg_of(result) == second and result.featureCount() == len(DISCS) and not project.isDirty()
    assert stored_turns(second) == stored_turns(first) and len(stored_turns(first)) == 2
    assert QgsProject.instance().read(str(folder / "project.qgz"))  # the first project still has its results
    [original] = result_layers()
    assert gpkg_of(original) == first and original.featureCount() == len(DISCS)


def test_each_unsaved_project_has_its_own_store(unsaved, controller, use_model):
    layer, folder = unsaved
    use_model(StreamingDouble())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    first = gpkg_of(result_layers()[0])
    source = layer.source()
    project = QgsProject.instance()
    project.clear()  # Project > New, the changes discarded
    assert controller.turns == [] and controller.dock.conversation.toPlainText() == ""
    assert not first.parent.exists()
    raster = QgsRasterLayer(source, "discs")
    project.addMapLayer(raster)
    ask(controller, raster, "Segment all discs")
    wait_for(controller)
    second = gpkg_of(result_layers()[0])
    assert second != first
    assert [role for role, _, _ in stored_turns(second)] == ["user", "assistant"]  # nothing of the old project


def test_the_same_instruction_at_the_same_time_of_day_keeps_both_results(scene, controller, use_model, monkeypatch):
    from geoground.plugin import result_layers as writer

    layer, folder = scene
    use_model(StreamingDouble())
    monkeypatch.setattr(writer, "_now", lambda: datetime(2026, 3, 1, 10, 0, 0))
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    monkeypatch.setattr(writer, "_now", lambda: datetime(2026, 3, 2, 10, 0, 0))  # the next day
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    layers = result_layers()
    assert sorted(r.name() for r in layers) == ["segment_all_discs_100000", "segment_all_discs_100000_2"]
    assert [r.featureCount() for r in layers] == [len(DISCS), len(DISCS)]
    turns = stored_turns(folder / "project_geoground.gpkg")
    assert [t[2] for t in turns if t[0] == "assistant"] == ["segment_all_discs_100000", "segment_all_discs_100000_2"]
    for r in layers:
        for feature in r.getFeatures():  # measures rounded as written
            assert feature["area_m2"] == round(feature["area_m2"], 2) and feature["score"] == round(feature["score"], 3)


class NothingFound(StreamingDouble):
    def chat(self, image, conversation, **options):
        from geoground.engine.types import Reply

        return Reply("I see none.", [], "I see none.")


def test_nothing_found_adds_no_layer_but_keeps_the_turn(scene, controller, use_model):
    layer, folder = scene
    use_model(NothingFound())
    ask(controller, layer, "Segment all storage tanks in this image.")
    wait_for(controller)
    assert result_layers() == []
    text = controller.dock.conversation.toPlainText()
    assert "I see none." in text and "No storage tanks found in this view." in text
    assert stored_turns(folder / "project_geoground.gpkg") == [
        ("user", "Segment all storage tanks in this image.", ""),
        ("assistant", "I see none.", ""),
    ]


def test_object_words_of_an_instruction(qgis_app):
    from geoground.plugin.controller import nothing_found, object_words

    assert object_words("Segment all ships") == "ships"
    assert object_words("please find the storage tanks in the image.") == "storage tanks"
    assert object_words("Where are the airplanes?") == "airplanes"
    assert object_words("Describe this image in detail and outline every object you mention.") == ""
    assert nothing_found("Describe this image", "layer") == "No objects found in this layer."
    assert nothing_found("Segment all ships", "selection") == "No ships found in the selected polygons."


def test_a_refused_send_keeps_the_text(scene, controller, use_model):
    layer, _ = scene
    use_model(StreamingDouble())
    dock = controller.dock
    dock.scope_combo.setCurrentIndex(dock.scope_combo.findData("selection"))  # and nothing is selected
    ask(controller, layer, "Segment all discs")
    assert controller.task is None
    assert dock.input.text() == "Segment all discs"
    text = dock.conversation.toPlainText()
    assert "Segment all discs" not in text and "polygon" in text  # the notice says why; no unanswered question
    dock.scope_combo.setCurrentIndex(dock.scope_combo.findData("view"))
    dock.submit()
    assert dock.input.text() == ""  # taken this time
    wait_for(controller)
    assert len(result_layers()) == 1


def test_failed_and_stopped_turns_leave_no_unanswered_question(scene, controller, use_model):
    from geoground.engine.types import Cancelled

    layer, folder = scene
    calls = []

    class FailsThenStopsThenAnswers(StreamingDouble):
        def chat(self, image, conversation, should_stop=None, **options):
            calls.append(True)
            if len(calls) == 1:
                raise ValueError("the model broke")
            if len(calls) == 2:
                while not (should_stop and should_stop()):
                    time.sleep(0.005)
                raise Cancelled("stopped")
            return super().chat(image, conversation, should_stop=should_stop, **options)

    use_model(FailsThenStopsThenAnswers())
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert "the model broke" in controller.dock.conversation.toPlainText()
    ask(controller, layer, "Find the discs")
    deadline = time.monotonic() + 20
    while len(calls) < 2 and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)
    controller.stop()
    wait_for(controller)
    ask(controller, layer, "Outline the discs")
    wait_for(controller)
    turns = [(role, text) for role, text, _ in stored_turns(folder / "project_geoground.gpkg")]
    assert [role for role, _ in turns] == ["user", "assistant"] and turns[0][1] == "Outline the discs"
    assert turns[1][1].startswith(f"{len(DISCS)} discs, ")
    assert [t["turn"] for t in controller.turns] == [0, 1]
