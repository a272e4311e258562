"""Published models by name: downloaded once (only the needed files), converted once, loaded and chatted with.

The hub is faked at its network boundary (repository info and listing, file metadata, the HTTP transfer), so the real
``snapshot_download`` runs with its cache layout, pattern filtering, completeness checks and offline behaviour. The
repositories hold tiny checkpoints in the published layouts, written by the converters' own test fixtures, next to
files a conversion must never fetch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import threading
import time
import types
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geopix_published as geopix_fixture  # noqa: E402 - the GeoPix published-layout writer
import test_convert_geopixel as geopixel_fixture  # noqa: E402 - the GeoPixel published-layout writer

from engine.api import Engine  # noqa: E402
from engine.hub import published  # noqa: E402
from engine.hub.published import find_published, prepare_published, prepared_folder  # noqa: E402
from engine.hub.registry import ModelNotFoundError, hub_reference, resolve  # noqa: E402
from engine.model import GeoGroundModel  # noqa: E402
from engine.model.geopix.model import GeoPixModel  # noqa: E402
from engine.types import Cancelled, Reply  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKENIZER_REPO = published.INTERNLM2_TOKENIZER_REPO


class FakeHub:
    """Repositories ``{repo_id: {path: bytes}}`` at revision ``main`` (commit COMMIT), served through
    huggingface_hub's own download code. Other revisions do not exist."""

    def __init__(self, repos: dict[str, dict[str, bytes]]) -> None:
        self.repos = repos
        self.fetched: list[str] = []  # file paths in the order their transfer started
        self.transfers: list[tuple[str, str]] = []  # (repo_id, path) of the same transfers
        self.broken: set[str] = set()  # these paths drop the connection halfway
        self.slow = False  # transfers trickle (to cancel one in the middle)
        self.unreachable = False  # no network: every request fails to connect
        self.lock = threading.Lock()

    def install(self, monkeypatch) -> None:
        from huggingface_hub import constants, file_download, hf_api
        from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError
        from huggingface_hub.utils import OfflineModeIsEnabled

        def check(repo_id, revision=None):
            if self.unreachable:
                import httpx2

                raise httpx2.ConnectError("no route to host")
            if constants.HF_HUB_OFFLINE:
                raise OfflineModeIsEnabled("offline")
            if repo_id not in self.repos:
                raise RepositoryNotFoundError(f"{repo_id} not found", response=_response(404))
            if revision not in (None, "main", COMMIT):
                raise RevisionNotFoundError(f"{revision} not found in {repo_id}", response=_response(404))

        def repo_info(api, repo_id, revision=None, **kwargs):
            check(repo_id, revision)
            return types.SimpleNamespace(sha=COMMIT)

        def list_repo_tree(api, repo_id, revision=None, **kwargs):
            check(repo_id, revision)
            files = self.repos[repo_id]
            return [hf_api.RepoFile(path=path, size=len(data), oid=path) for path, data in files.items()]

        def metadata(url, **kwargs):
            repo_id, path = _split(url)
            data = self.repos[repo_id][path]
            return file_download.HfFileMetadata(
                commit_hash=COMMIT,
                etag=hashlib.sha256(data).hexdigest(),
                location=url,
                size=len(data),
                xet_file_data=None,
            )

        def http_get(url, temp_file, *, expected_size=None, tqdm_class=None, **kwargs):
            repo_id, path = _split(url)
            with self.lock:
                self.fetched.append(path)
                self.transfers.append((repo_id, path))
            data = self.repos[repo_id][path]
            bar = tqdm_class(total=len(data), initial=0)
            step = max(256, len(data) // 16)
            chunks = [data[i : i + step] for i in range(0, len(data), step)]
            for index, chunk in enumerate(chunks):
                if path in self.broken and index == len(chunks) // 2:
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

    def paths(self, repo_id: str) -> set[str]:
        return {path for repo, path in self.transfers if repo == repo_id}


def _split(url: str) -> tuple[str, str]:
    """``https://host/{org}/{name}/resolve/{revision}/{path}`` -> (repo_id, path)."""
    head, _, tail = url.partition("/resolve/")
    return "/".join(head.rsplit("/", 2)[-2:]), unquote(tail.split("/", 1)[1])


def _response(status: int):
    import httpx2

    return httpx2.Response(status, request=httpx2.Request("GET", "https://hub.invalid"))


def go_offline(monkeypatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def read_tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# Files in the published repositories that no conversion reads: they must never be fetched.
GEOPIXEL_EXTRAS = {"geopixel.py": b"# remote code", "README.md": b"# GeoPixel", ".gitattributes": b"*.bin lfs"}
TOKENIZER_EXTRAS = {
    "pytorch_model-00001-of-00002.bin": b"\0" * 4096,  # the base model's own weights
    "tokenization_internlm_xcomposer2.py": b"# remote code",
    "README.md": b"# InternLM-XComposer-2.5",
}
GEOPIX_EXTRAS = {"README.md": b"# GeoPix", "inference.py": b"# remote code", "demo/example.png": b"\x89PNG"}
GEOPIX_OVERRIDES = {
    "seg_token_ids": geopix_fixture.SEG_IDS,
    "feature_size": 4,
    "feature_layers": [-2, -3],
    "decoder_heads": 2,
}
GEOPIX_OVERRIDES["decoder_heads"] = 2


def write_repositories(root: Path) -> tuple[dict[str, dict[str, bytes]], GeoGroundModel, GeoPixModel]:
    """The three repositories' files, and the tiny models they were written from."""
    geopixel_model = geopixel_fixture._source_model()
    geopixel_fixture.write_published(root / "geopixel", geopixel_fixture.to_published(geopixel_model), tokenizer=False)
    (root / "tokenizer").mkdir()
    geopixel_fixture.write_tokenizer(root / "tokenizer", added=False)
    geopix_model = geopix_fixture.tiny_model()
    geopix_fixture.write_published(root / "geopix", geopix_model)
    geopix_fixture.write_tokenizer(root / "geopix")
    repos = {
        "MBZUAI/GeoPixel-7B": read_tree(root / "geopixel") | GEOPIXEL_EXTRAS,
        TOKENIZER_REPO: read_tree(root / "tokenizer") | TOKENIZER_EXTRAS,
        "Norman-ou/GeoPix-ft-sior_rsicap": read_tree(root / "geopix") | GEOPIX_EXTRAS,
    }
    return repos, geopixel_model, geopix_model


@pytest.fixture(scope="module")
def repositories(tmp_path_factory):
    return write_repositories(tmp_path_factory.mktemp("published"))


@pytest.fixture
def tiny_table(monkeypatch):
    """The real table with the tiny checkpoints' config overrides and a tiny disk need."""
    table = dict(published.PUBLISHED)
    table["geopixel-7b"] = dataclasses.replace(
        table["geopixel-7b"], overrides=geopixel_fixture.OVERRIDES, converted_gb=0.001
    )
    table["geopix"] = dataclasses.replace(table["geopix"], overrides=GEOPIX_OVERRIDES, converted_gb=0.001)
    monkeypatch.setattr(published, "PUBLISHED", table)
    return table


@pytest.fixture
def hub(monkeypatch, repositories, tiny_table):
    fake = FakeHub(repositories[0])
    fake.install(monkeypatch)
    return fake


class Conversions:
    """Counts the converter calls (the real converters still do the work)."""

    def __init__(self, monkeypatch) -> None:
        import engine.convert as convert

        self.calls = 0
        for name in ("convert_geopixel", "convert_geopix"):
            real = getattr(convert, name)
            monkeypatch.setattr(convert, name, self._counting(real))

    def _counting(self, real):
        def wrapper(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        return wrapper


def test_a_published_name_downloads_only_what_it_needs_converts_once_and_chats(
    hub, repositories, tmp_path, monkeypatch
):
    _, source_model, _ = repositories
    conversions = Conversions(monkeypatch)
    phases: list[tuple[str, float]] = []
    folder = prepare_published("GeoPixel-7B", tmp_path, progress=lambda phase, p: phases.append((phase, p)))

    assert folder == tmp_path / "geoground-converted" / "GeoPixel-7B-main"
    weights = hub.repos["MBZUAI/GeoPixel-7B"]
    assert hub.paths("MBZUAI/GeoPixel-7B") == set(weights) - set(GEOPIXEL_EXTRAS)
    assert hub.paths(TOKENIZER_REPO) == {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"}
    assert conversions.calls == 1
    names = [phase for phase, _ in phases]
    assert names.index("convert") > len(names) - names[::-1].index("download") - 1  # downloading, then converting
    assert ("download", 100.0) in phases and phases[-1] == ("convert", 100.0)
    assert any(phase == "convert" and 0 < p < 100 for phase, p in phases)  # per-shard conversion progress
    assert prepared_folder("geopixel-7b", tmp_path) == folder
    assert not list(folder.parent.glob(".*"))  # no partial folder left

    hub.transfers.clear()
    hub.unreachable = True  # a second call needs neither the network nor a conversion
    assert prepare_published("GEOPIXEL-7B", tmp_path) == folder
    assert hub.transfers == [] and conversions.calls == 1

    engine = Engine.load("geopixel-7b", device="cpu", cache_dir=str(tmp_path))
    assert engine.name == "GeoPixel-7B" and conversions.calls == 1
    torch.testing.assert_close(
        engine.model.llm.model.embed_tokens.weight, source_model.llm.model.embed_tokens.weight, rtol=0, atol=0
    )
    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    reply = engine.chat(image, "segment all storage tanks", max_new_tokens=3)
    assert isinstance(reply, Reply) and reply.raw_text
    assert all(segment.mask.shape == image.shape[:2] for segment in reply.segments)


def test_an_interrupted_conversion_leaves_no_finished_folder_and_the_next_call_completes(hub, tmp_path, monkeypatch):
    conversions = Conversions(monkeypatch)
    root = tmp_path / "geoground-converted"
    written: list[list[str]] = []  # what the partial folder held when the stop came

    def stop_after_the_first_shard(phase: str, percent: float) -> None:
        if phase == "convert" and percent > 0 and not written:
            written.append(sorted(p.name for p in (root / ".GeoPixel-7B-main.partial").iterdir()))

    with pytest.raises(Cancelled):
        prepare_published(
            "GeoPixel-7B", tmp_path, progress=stop_after_the_first_shard, should_stop=lambda: bool(written)
        )
    assert conversions.calls == 1 and written == [["model-00001-of-00003.safetensors"]]
    assert prepared_folder("GeoPixel-7B", tmp_path) is None
    assert list(root.iterdir()) == []  # neither the final folder nor the partial one

    # A process killed mid-conversion leaves its partial folder behind, and a final folder without config.json was
    # not finished either: neither counts as converted, and both are replaced.
    for leftover in (root / ".GeoPixel-7B-main.partial", root / "GeoPixel-7B-main"):
        leftover.mkdir()
        (leftover / "model-00001-of-00003.safetensors").write_bytes(b"cut off")
    assert prepared_folder("GeoPixel-7B", tmp_path) is None

    hub.transfers.clear()
    folder = prepare_published("GeoPixel-7B", tmp_path)
    assert hub.transfers == []  # the download was complete: only the conversion ran again
    assert conversions.calls == 2 and [p.name for p in root.iterdir()] == ["GeoPixel-7B-main"]
    assert GeoGroundModel.from_pretrained(folder).config.seg_token_id == geopixel_fixture.SEG
    assert (folder / "model-00001-of-00003.safetensors").stat().st_size > 100


def test_a_stopped_download_keeps_completed_files(hub, tmp_path):
    hub.broken = {"pytorch_model-00002-of-00002.bin"}
    with pytest.raises(ModelNotFoundError, match="stopped .*try again to continue") as raised:
        prepare_published("GeoPixel-7B", tmp_path)
    assert "\n" not in str(raised.value)
    assert prepared_folder("GeoPixel-7B", tmp_path) is None
    hub.broken.clear()
    hub.transfers.clear()
    prepare_published("GeoPixel-7B", tmp_path)
    assert hub.paths("MBZUAI/GeoPixel-7B") == {"pytorch_model-00002-of-00002.bin"}  # the rest was kept
    assert hub.paths(TOKENIZER_REPO) == set()


def test_a_stop_request_during_the_download(hub, tmp_path):
    calls = []
    with pytest.raises(Cancelled):
        prepare_published("GeoPixel-7B", tmp_path, should_stop=lambda: calls.append(1) or len(calls) > 5)
    assert prepared_folder("GeoPixel-7B", tmp_path) is None
    assert not (tmp_path / "geoground-converted").exists()  # nothing converted, not even started


def test_offline_uses_the_prepared_folder(hub, tmp_path, monkeypatch):
    folder = prepare_published("GeoPixel-7B", tmp_path)
    go_offline(monkeypatch)
    hub.transfers.clear()
    assert resolve("GeoPixel-7B", tmp_path).folder == folder
    assert hub.transfers == []


def test_offline_converts_a_complete_download(hub, tmp_path, monkeypatch):
    """Downloaded on a connected machine, converted later offline: the cached files are enough."""
    import engine.convert as convert

    with monkeypatch.context() as patched:
        patched.setattr(convert, "convert_geopixel", _failing_converter)
        with pytest.raises(ModelNotFoundError, match="does not convert"):
            prepare_published("GeoPixel-7B", tmp_path)
    go_offline(monkeypatch)
    assert published.sources_cached("GeoPixel-7B", tmp_path)
    folder = prepare_published("GeoPixel-7B", tmp_path)
    assert (folder / "tokenizer.json").is_file() and (folder / published.PROVENANCE_FILE).is_file()


def _failing_converter(source, output, **options):
    from engine.convert import ConversionError

    Path(output).mkdir(parents=True)
    (Path(output) / "config.json").write_text("{}")  # a half-written folder that looks like a model
    raise ConversionError("the checkpoint does not match\nmissing: 3")


def test_a_failed_conversion_is_one_line_and_leaves_nothing(hub, tmp_path, monkeypatch):
    import engine.convert as convert

    monkeypatch.setattr(convert, "convert_geopixel", _failing_converter)
    with pytest.raises(ModelNotFoundError) as raised:
        prepare_published("GeoPixel-7B", tmp_path)
    assert str(raised.value) == "GeoPixel-7B was downloaded but does not convert: the checkpoint does not match"
    assert list((tmp_path / "geoground-converted").iterdir()) == []


def test_offline_and_not_prepared_says_what_to_download(hub, tmp_path, monkeypatch):
    go_offline(monkeypatch)
    with pytest.raises(ModelNotFoundError) as raised:
        Engine.load("GeoPixel-7B", device="cpu", cache_dir=str(tmp_path))
    message = str(raised.value)
    assert "\n" not in message and "not prepared" in message
    assert "MBZUAI/GeoPixel-7B (about 23 GB)" in message and TOKENIZER_REPO in message
    assert hub.transfers == []


def test_unknown_revision_and_missing_converter_packages(hub, tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="cannot download MBZUAI/GeoPixel-7B@no-such-tag for GeoPixel-7B"):
        prepare_published("GeoPixel-7B@no-such-tag", tmp_path)
    assert find_published("GeoPixel-7B@v1.0") == (published.PUBLISHED["geopixel-7b"], "v1.0")
    assert published.converted_folder(*find_published("GeoPixel-7B@refs/pr/1"), tmp_path).name == (
        "GeoPixel-7B-refs-pr-1"
    )

    hub.transfers.clear()
    real_find_spec = published.importlib.util.find_spec
    monkeypatch.setattr(
        published.importlib.util, "find_spec", lambda name: None if name == "sentencepiece" else real_find_spec(name)
    )
    with pytest.raises(ModelNotFoundError, match="needs the Python packages sentencepiece"):
        prepare_published("GeoPixel-7B", tmp_path)
    assert hub.transfers == []  # said before downloading anything


def test_names_that_are_not_published_keep_their_meaning(tmp_path, monkeypatch):
    with pytest.raises(ModelNotFoundError, match="unknown model 'no-such-model'; valid: presets tiny, demo") as raised:
        resolve("no-such-model")
    assert "GeoPixel-7B, GeoPixel-7B-RES, GeoPix," in str(raised.value)
    assert hub_reference("GeoPixel-7B") is None and hub_reference("geopix") is None
    assert hub_reference("MBZUAI/GeoPixel-7B") == ("MBZUAI/GeoPixel-7B", None)  # the raw repository is a hub id
    assert find_published("MBZUAI/GeoPixel-7B") is None and find_published("tiny") is None
    assert resolve("tiny").preset == "tiny"

    folder = tmp_path / "GeoPixel-7B"  # an existing folder of that name is a local model, as for hub ids
    folder.mkdir()
    monkeypatch.chdir(tmp_path)
    assert find_published("GeoPixel-7B") is None
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve("GeoPixel-7B")


def test_geopix_downloads_converts_and_answers(hub, repositories, tmp_path):
    _, _, geopix_model = repositories
    folder = prepare_published("GeoPix", tmp_path)
    repo = hub.repos["Norman-ou/GeoPix-ft-sior_rsicap"]
    assert hub.paths("Norman-ou/GeoPix-ft-sior_rsicap") == set(repo) - set(GEOPIX_EXTRAS)
    loaded = GeoPixModel.from_pretrained(folder, dtype=torch.float32)
    for key, value in geopix_model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0, msg=key)

    engine = Engine.load("GeoPix", device="cpu", cache_dir=str(tmp_path))
    assert type(engine.family).__name__ == "GeoPixFamily" and engine.name == "GeoPix"
    assert engine.tokenizer.convert_tokens_to_ids("<image>") == 99  # the checkpoint's tokenizer came along
    image = np.random.default_rng(0).integers(0, 255, (28, 28, 3), dtype=np.uint8)
    reply = engine.chat(image, "Segment the ship.", max_new_tokens=4)
    assert isinstance(reply, Reply) and reply.raw_text
