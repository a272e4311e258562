"""Models are fetched into the cache before their first chat, with progress, Cancel and resumption: hub ids are
downloaded, published names (GeoPixel-7B...) downloaded and then converted once.

The hub is faked at its network boundary (repository listing, file metadata, the HTTP transfer), so the real
``snapshot_download`` runs: its cache layout, its skipping of completed files and its progress bars are the library's.
The published repositories hold the tiny published-layout checkpoints of the engine's converter tests.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from pathlib import Path

import pytest
from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import QPushButton

from .chat_doubles import StreamingDouble, ask, result_layers, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_published import COMMIT, FakeHub, write_repositories  # noqa: E402

FILES = {
    "config.json": json.dumps({"model_type": "geoground"}).encode(),
    "tokenizer.json": b"{}" * 500,
    "model.safetensors": bytes(range(256)) * 64,
}


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub({"org/model": FILES})
    fake.install(monkeypatch)
    return fake


@pytest.fixture(scope="module")
def repositories(tmp_path_factory):
    return write_repositories(tmp_path_factory.mktemp("published"))


@pytest.fixture
def published_hub(monkeypatch, repositories):
    """The published repositories, and the plugin's engine table set to the tiny checkpoints' sizes."""
    import test_convert_geopixel

    from geoground.engine.hub import published

    table = dict(published.PUBLISHED)
    tiny = {"overrides": test_convert_geopixel.OVERRIDES, "converted_gb": 0.001}
    table["geopixel-7b"] = dataclasses.replace(table["geopixel-7b"], **tiny)
    monkeypatch.setattr(published, "PUBLISHED", table)
    fake = FakeHub(repositories[0])
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def cache_setting(tmp_path):
    """The model cache folder of the GeoGround settings, as a user sets it."""
    folder = tmp_path / "models"
    QgsSettings().setValue("GeoGround/model_cache_dir", str(folder))
    yield folder
    QgsSettings().remove("GeoGround")


def go_offline(monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo", None),
        ("tiny", None),
        ("org/model", ("org/model", None)),
        ("org/model@v1.0", ("org/model", "v1.0")),
        ("org/model/extra", None),  # not a hub id: the engine reports it as an unknown model
    ],
)
def test_which_names_are_hub_models(qgis_app, tmp_path, name, expected):
    from geoground.plugin.model_download import hub_model

    model = hub_model(name, str(tmp_path))
    assert (None if model is None else (model.repo_id, model.revision)) == expected
    folder = tmp_path / "org" / "model"
    folder.mkdir(parents=True)
    assert hub_model(str(folder)) is None  # an existing folder is a local model, whatever its path looks like


def test_an_interrupted_download_continues_where_it_stopped(qgis_app, hub, tmp_path):
    from geoground.plugin.model_download import HubModel, ModelUnavailableError, cached_snapshot, download

    model = HubModel("org/model", "org/model", None, str(tmp_path))
    hub.broken = {"model.safetensors"}
    with pytest.raises(ModelUnavailableError, match="Send again to continue"):
        download(model)
    assert cached_snapshot(model) is None  # a partial snapshot is not taken for the model
    assert sorted(hub.fetched) == sorted(FILES)

    hub.broken.clear()
    hub.fetched.clear()
    percents: list[float] = []
    folder = download(model, percents.append)
    assert hub.fetched == ["model.safetensors"]  # the two completed files were kept, not fetched again
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == FILES
    assert cached_snapshot(model) == folder
    assert percents[-1] == 100.0 and any(0 < p < 100 for p in percents)


def test_a_stop_request_ends_the_download(qgis_app, hub, tmp_path):
    from geoground.engine.types import Cancelled
    from geoground.plugin.model_download import HubModel, cached_snapshot, download

    model = HubModel("org/model", "org/model", None, str(tmp_path))
    calls = []

    def should_stop():
        calls.append(True)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        download(model, should_stop=should_stop)
    assert cached_snapshot(model) is None


def test_uncached_hub_model_is_downloaded_with_a_dialog_then_answers(scene, controller, use_model, hub, cache_setting):
    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("org/model")
    ask(controller, layer, "Segment all discs")
    dialog = controller.download_dialog
    assert dialog is not None and dialog.isVisible()
    assert "org/model" in dialog.labelText()
    wait_for(controller)
    assert controller.download_dialog is None
    assert sorted(hub.fetched) == sorted(FILES)
    snapshot = cache_setting / "models--org--model" / "snapshots" / COMMIT
    assert {p.name for p in snapshot.iterdir()} == set(FILES)
    assert [r.featureCount() for r in result_layers()] == [2]  # the instruction ran after the download

    hub.fetched.clear()  # the next instruction finds the model in the cache: no download, no dialog
    ask(controller, layer, "Segment all discs")
    assert controller.download_dialog is None
    wait_for(controller)
    assert hub.fetched == [] and len(result_layers()) == 2


def test_cancel_in_the_dialog_stops_the_download_and_the_instruction(scene, controller, use_model, hub, cache_setting):
    layer, _ = scene
    use_model(StreamingDouble())
    hub.slow = True
    controller.dock.model_combo.setCurrentText("org/model")
    ask(controller, layer, "Segment all discs")
    deadline = time.monotonic() + 20
    while not hub.fetched and time.monotonic() < deadline:
        time.sleep(0.01)
    [cancel] = controller.download_dialog.findChildren(QPushButton)
    assert cancel.text() == "Cancel"
    cancel.click()
    wait_for(controller)
    assert result_layers() == []
    assert "files downloaded so far are kept" in controller.dock.conversation.toPlainText()
    assert controller.dock.send_button.isEnabled()


def test_offline_with_the_model_cached_loads_from_the_cache(
    scene, controller, use_model, hub, cache_setting, monkeypatch
):
    from geoground.engine.hub.registry import resolve
    from geoground.plugin.model_download import HubModel, download

    folder = download(HubModel("org/model", "org/model", None, str(cache_setting)))
    go_offline(monkeypatch)
    hub.fetched.clear()
    assert resolve("org/model", str(cache_setting)).folder == folder  # what the engine will load

    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("org/model")
    ask(controller, layer, "Segment all discs")
    assert controller.download_dialog is None
    wait_for(controller)
    assert hub.fetched == [] and [r.featureCount() for r in result_layers()] == [2]


def test_offline_without_the_model_says_how_to_get_it(scene, controller, use_model, hub, cache_setting, monkeypatch):
    go_offline(monkeypatch)
    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("org/model")
    ask(controller, layer, "Segment all discs")
    assert controller.task is None and controller.download_dialog is None
    text = controller.dock.conversation.toPlainText()
    assert "org/model" in text and "connected machine" in text and "local model folder" in text
    assert hub.fetched == [] and result_layers() == []


def test_a_name_the_hub_does_not_know_is_a_clear_message(scene, controller, use_model, hub, cache_setting):
    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("org/missing")
    ask(controller, layer, "Segment all discs")
    wait_for(controller)
    assert "has no model org/missing" in controller.dock.conversation.toPlainText()
    assert result_layers() == []


def test_no_network_and_not_cached_says_how_to_get_it(qgis_app, hub, tmp_path):
    from geoground.plugin.model_download import HubModel, ModelUnavailableError, download

    hub.unreachable = True
    with pytest.raises(ModelUnavailableError, match="connected machine") as raised:
        download(HubModel("org/model", "org/model", None, str(tmp_path)))
    assert "org/model" in str(raised.value) and hub.fetched == []


def _converted(cache) -> list[str]:
    root = cache / "geoground-converted"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_published_names_are_offered_and_resolved(qgis_app, tmp_path):
    from geoground.plugin.model_download import published_download
    from geoground.plugin.settings import MODEL_CHOICES

    assert {"GeoPixel-7B", "GeoPixel-7B-RES", "GeoPix"} <= set(MODEL_CHOICES)
    model = published_download(" geopixel-7b-res ", str(tmp_path))
    assert (model.title, model.repo_id, model.cache_dir) == ("GeoPixel-7B-RES", "MBZUAI/GeoPixel-7B-RES", str(tmp_path))
    assert published_download("org/model") is None and published_download("demo") is None


def test_a_published_model_downloads_converts_then_answers(
    scene, controller, use_model, published_hub, cache_setting, monkeypatch
):
    from geoground.plugin import model_download

    phases: list[str] = []
    real_phase_text = model_download.phase_text
    monkeypatch.setattr(model_download, "phase_text", lambda m, p="download": phases.append(p) or real_phase_text(m, p))
    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("GeoPixel-7B")
    ask(controller, layer, "Segment all discs")
    dialog = controller.download_dialog
    assert dialog is not None and dialog.isVisible()
    assert "GeoPixel-7B" in dialog.labelText() and "about 23 GB" in dialog.labelText()
    wait_for(controller)
    assert controller.download_dialog is None
    assert phases[-2:] == ["download", "convert"]  # the dialog was told about both phases, in order
    assert published_hub.paths("MBZUAI/GeoPixel-7B") and published_hub.paths("internlm/internlm-xcomposer2d5-7b")
    assert _converted(cache_setting) == ["GeoPixel-7B-main"]
    assert [r.featureCount() for r in result_layers()] == [2]  # the instruction ran after the conversion

    published_hub.transfers.clear()  # prepared: the next instruction needs no task and no dialog
    ask(controller, layer, "Segment all discs")
    assert controller.download_dialog is None
    wait_for(controller)
    assert published_hub.transfers == [] and len(result_layers()) == 2


def test_the_dialog_shows_the_phase_the_task_announces(qgis_app, tmp_path):
    from geoground.plugin.model_download import ModelDownloadTask, phase_text, published_download
    from geoground.plugin.ui.download_dialog import DownloadDialog

    model = published_download("GeoPixel-7B", str(tmp_path))
    task = ModelDownloadTask(model, lambda folder, error: None)
    dialog = DownloadDialog(task)
    assert dialog.labelText() == phase_text(model, "download")
    task.phase_changed.emit(phase_text(model, "convert"))
    QCoreApplication.processEvents()
    assert dialog.labelText().startswith("Converting GeoPixel-7B for GeoGround")
    dialog.finish()


@pytest.mark.parametrize("phase", ["download", "convert"])
def test_cancel_in_either_phase_leaves_no_layer_and_no_converted_folder(
    scene, controller, use_model, published_hub, cache_setting, monkeypatch, phase
):
    from geoground.engine import convert

    reached, resume = threading.Event(), threading.Event()
    real = convert.convert_geopixel

    def held_converter(source, output, *, log, **options):  # pauses after its first shard until Cancel is pressed
        def held_log(message):
            if message.startswith("converted "):
                reached.set()
                resume.wait(20)
            log(message)

        return real(source, output, log=held_log, **options)

    monkeypatch.setattr(convert, "convert_geopixel", held_converter)
    if phase == "download":
        published_hub.slow = True
    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("GeoPixel-7B")
    ask(controller, layer, "Segment all discs")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (reached.is_set() if phase == "convert" else published_hub.fetched):
        QCoreApplication.processEvents()
        time.sleep(0.01)
    [cancel] = controller.download_dialog.findChildren(QPushButton)
    cancel.click()
    resume.set()
    wait_for(controller)
    assert result_layers() == []
    assert "files downloaded so far are kept" in controller.dock.conversation.toPlainText()
    assert _converted(cache_setting) == []  # neither a converted folder nor a partial one
    assert controller.dock.send_button.isEnabled()
    assert reached.is_set() == (phase == "convert")


def test_offline_published_model_not_prepared_says_what_to_do(
    scene, controller, use_model, published_hub, cache_setting, monkeypatch
):
    go_offline(monkeypatch)
    layer, _ = scene
    use_model(StreamingDouble())
    controller.dock.model_combo.setCurrentText("GeoPixel-7B")
    ask(controller, layer, "Segment all discs")
    assert controller.task is None and controller.download_dialog is None
    text = controller.dock.conversation.toPlainText()
    assert "GeoPixel-7B is not prepared" in text and "connected machine" in text and "about 23 GB" in text
    assert published_hub.transfers == [] and result_layers() == []
