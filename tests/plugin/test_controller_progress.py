"""What the dock says while it works: model loading, tiles done of total, and a question before a long run."""

from __future__ import annotations

import pytest

from .chat_doubles import StreamingDouble, ask, result_layers, wait_for


class TiledDouble(StreamingDouble):
    """A stand-in model with a small input size, so the 320 x 240 scene is answered in many tiles."""

    view_size = 48


def whole_layer(controller) -> None:
    combo = controller.dock.scope_combo
    combo.setCurrentIndex(combo.findData("layer"))


def record_statuses(controller, monkeypatch) -> list[str]:
    """Every status text a task of this controller sends, collected as the dock receives them."""
    seen: list[str] = []
    original = controller.dock.show_status

    def show_status(text):
        seen.append(text)
        original(text)

    monkeypatch.setattr(controller.dock, "show_status", show_status)
    return seen


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_a_long_whole_layer_run_asks_first(scene, controller, use_model, monkeypatch, answer):
    from geoground.plugin import controller as controller_module

    questions = []

    def question(parent, title, text, buttons):
        questions.append(text)
        return controller_module.QMessageBox.Yes if answer == "yes" else controller_module.QMessageBox.No

    monkeypatch.setattr(controller_module.QMessageBox, "question", question)
    use_model(TiledDouble())
    layer, _ = scene
    whole_layer(controller)
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert len(questions) == 1 and "tiles" in questions[0], questions
    tiles = int(questions[0].split(" tiles")[0].split()[-1])
    assert tiles > 16
    if answer == "yes":
        assert len(result_layers()) == 1
    else:
        assert result_layers() == []
        assert "Stopped" in controller.dock.conversation.toPlainText()


def test_a_short_view_is_not_questioned_and_tiles_are_reported(scene, controller, use_model, monkeypatch):
    from geoground.plugin import controller as controller_module

    monkeypatch.setattr(controller_module.QMessageBox, "question", lambda *a: pytest.fail("asked for a view"))
    statuses = record_statuses(controller, monkeypatch)
    use_model(TiledDouble())
    layer, _ = scene
    ask(controller, layer, "Segment all discs")  # the current view: never asked
    wait_for(controller)
    assert len(result_layers()) == 1
    assert statuses[0].startswith("Loading the model"), statuses
    tile_lines = [s for s in statuses if s.startswith("Tile ")]
    assert tile_lines and tile_lines[-1].split()[1] == tile_lines[-1].split()[3], tile_lines


def test_a_known_time_per_tile_gives_minutes_in_the_question(scene, controller, use_model, monkeypatch):
    from geoground.plugin import controller as controller_module
    from geoground.plugin import segmentation

    questions = []
    monkeypatch.setattr(
        controller_module.QMessageBox,
        "question",
        lambda parent, title, text, buttons: questions.append(text) or controller_module.QMessageBox.No,
    )
    use_model(TiledDouble())
    segmentation.ENGINES.seconds_per_tile[controller.dock.model] = 30.0
    layer, _ = scene
    whole_layer(controller)
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert len(questions) == 1 and " min" in questions[0], questions
