"""Hub models are fetched into the cache before their first chat, with progress, Cancel and resumption.

The hub is faked at its network boundary (repository listing, file metadata, the HTTP transfer), so the real
``snapshot_download`` runs: its cache layout, its skipping of completed files and its progress bars are the library's.
"""

from __future__ import annotations

import json
import threading
import time
import types

import pytest
from qgis.core import QgsSettings
from qgis.PyQt.QtWidgets import QPushButton

from .chat_doubles import StreamingDouble, ask, result_layers, wait_for

COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": json.dumps({"model_type": "geoground"}).encode(),
    "tokenizer.json": b"{}" * 500,
    "model.safetensors": bytes(range(256)) * 64,
}


class FakeHub:
    """One repository, ``org/model``, served through huggingface_hub's own download code."""

    def __init__(self) -> None:
        self.fetched: list[str] = []  # file names in the order their transfer started
        self.broken: set[str] = set()  # these files drop the connection halfway
        self.slow = False  # transfers trickle until the download is cancelled
        self.unreachable = False  # no network: every request fails to connect
        self.lock = threading.Lock()

    def install(self, monkeypatch) -> None:
        from huggingface_hub import constants, file_download, hf_api
        from huggingface_hub.errors import RepositoryNotFoundError
        from huggingface_hub.utils import OfflineModeIsEnabled

        def check(repo_id):
            if self.unreachable:
                import httpx2

                raise httpx2.ConnectError("no route to host")
            if constants.HF_HUB_OFFLINE:
                raise OfflineModeIsEnabled("offline")
            if repo_id != "org/model":
                raise RepositoryNotFoundError(f"{repo_id} not found", response=_response(404))

        def repo_info(api, repo_id, **kwargs):
            check(repo_id)
            return types.SimpleNamespace(sha=COMMIT)

        def list_repo_tree(api, repo_id, **kwargs):
            check(repo_id)
            return [hf_api.RepoFile(path=name, size=len(data), oid=name) for name, data in FILES.items()]

        def metadata(url, **kwargs):
            name = url.rsplit("/", 1)[-1]
            return file_download.HfFileMetadata(
                commit_hash=COMMIT, etag=f"etag-{name}", location=url, size=len(FILES[name]), xet_file_data=None
            )

        def http_get(url, temp_file, *, expected_size=None, tqdm_class=None, **kwargs):
            name = url.rsplit("/", 1)[-1]
            with self.lock:
                self.fetched.append(name)
            data = FILES[name]
            bar = tqdm_class(total=len(data), initial=0)
            chunks = [data[i : i + 256] for i in range(0, len(data), 256)]
            for index, chunk in enumerate(chunks):
                if name in self.broken and index == len(chunks) // 2:
                    raise ConnectionError("connection reset by peer")
                temp_file.write(chunk)
                bar.update(len(chunk))
                if self.slow:
                    time.sleep(0.02)

        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hf_api.HfApi, "repo_info", repo_info)
        monkeypatch.setattr(hf_api.HfApi, "list_repo_tree", list_repo_tree)
        monkeypatch.setattr(file_download, "get_hf_file_metadata", metadata)
        monkeypatch.setattr(file_download, "http_get", http_get)


def _response(status: int):
    import httpx2

    return httpx2.Response(status, request=httpx2.Request("GET", "https://hub.invalid"))


@pytest.fixture
def hub(monkeypatch):
    fake = FakeHub()
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
    assert "Download stopped" in controller.dock.conversation.toPlainText()
    assert controller.dock.send_button.isEnabled()


def test_offline_with_the_model_cached_loads_from_the_cache(
    scene, controller, use_model, hub, cache_setting, monkeypatch
):
    from geoground.engine.registry import resolve
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
