"""Model folders that must be refused clearly, the model argument's type, published conversions started by several
processes at once, and loading straight into the requested dtype (no float32 copy first).

Every refusal is the engine's own :class:`ModelNotFoundError` (or ``TypeError`` for a model argument that is not a
name or path), one line naming the folder: never a raw safetensors, tokenizers or transformers exception, and never
a model that answers with weights initialised at random.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import geopix_published as geopix_fixture  # noqa: E402 - the tiny GeoPix model and tokenizer writers
import test_convert_geopixel as geopixel_fixture  # noqa: E402 - the tiny GeoPixel published layout
from test_published import FakeHub, write_repositories  # noqa: E402 - the fake hub and its repositories

from engine.api import Engine  # noqa: E402
from engine.errors import ModelNotFoundError  # noqa: E402
from engine.hub import published  # noqa: E402
from engine.hub.registry import load_model  # noqa: E402
from engine.model.geoground.modeling import GeoGroundModel  # noqa: E402
from engine.model.geopix.model import GeoPixModel  # noqa: E402
from engine.types import Cancelled  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = "model.safetensors"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """A saved tiny model of each family (float32 safetensors, tokenizer beside it)."""
    root = tmp_path_factory.mktemp("families")
    model, tokenizer, _ = load_model("tiny")
    model.save_pretrained(root / "geoground")
    tokenizer.save_pretrained(root / "geoground")
    geopix_fixture.tiny_model().save_pretrained(root / "geopix")
    geopix_fixture.write_tokenizer(root / "geopix")
    return {"geoground": root / "geoground", "geopix": root / "geopix"}


@pytest.fixture(params=["geoground", "geopix"])
def family_folder(request, folders, tmp_path) -> Path:
    """A fresh copy of one family's folder, to spoil."""
    return Path(shutil.copytree(folders[request.param], tmp_path / request.param))


def _rewrite(folder: Path, change) -> str:
    """Apply ``change(state)`` to the folder's weights; returns the key it touched."""
    state = load_file(folder / WEIGHTS)
    key = change(state)
    save_file(state, folder / WEIGHTS, metadata={"format": "pt"})
    return key


def _some_matrix(state: dict[str, torch.Tensor]) -> str:
    return sorted(key for key, value in state.items() if value.ndim == 2)[0]


def _refused(folder: Path, *parts: str) -> str:
    """Engine.load and load_model both refuse ``folder`` with a one-line ModelNotFoundError naming it and ``parts``."""
    for load in (lambda: Engine.load(str(folder), device="cpu"), lambda: load_model(folder)):
        with pytest.raises(Exception) as raised:
            load()
        assert type(raised.value) is ModelNotFoundError, f"{type(raised.value).__name__}: {raised.value}"
        message = str(raised.value)
        assert "\n" not in message and str(folder) in message
        for part in parts:
            assert part in message
    return message


def test_the_intact_folders_load(folders):
    for folder in folders.values():
        assert Engine.load(str(folder), device="cpu").model.training is False
        assert Engine.load(folder, device="cpu").name == str(folder)  # a Path is a path, as a str is


def test_a_missing_weight_is_refused_not_initialised_at_random(family_folder):
    def drop(state):
        key = _some_matrix(state)
        del state[key]
        return key

    key = _rewrite(family_folder, drop)
    message = _refused(family_folder, "missing weight", key)
    assert "more" not in message


def test_a_weight_of_the_wrong_shape_is_refused(family_folder):
    def shrink(state):
        key = _some_matrix(state)
        state[key] = torch.zeros(3, 3)
        return key

    key = _rewrite(family_folder, shrink)
    _refused(family_folder, "misshapen weight", key, "[3, 3] in the file")


def test_an_unexpected_weight_is_refused(family_folder):
    def add(state):
        state["head.extra.weight"] = torch.zeros(2, 2)
        return "head.extra.weight"

    _refused(family_folder, "unexpected weight head.extra.weight", _rewrite(family_folder, add))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_safetensors_are_an_engine_error(family_folder, damage):
    weights = family_folder / WEIGHTS
    data = weights.read_bytes()
    weights.write_bytes({"truncated": data[: len(data) // 2], "garbage": os.urandom(4096), "empty": b""}[damage])
    _refused(family_folder, "safetensors")


def test_no_weights_file_and_pickles_are_refused(family_folder):
    state = load_file(family_folder / WEIGHTS)
    (family_folder / WEIGHTS).unlink()
    _refused(family_folder, "does not load")
    torch.save(state, family_folder / "pytorch_model.bin")  # only safetensors are read, never pickles
    _refused(family_folder, "does not load")


def test_missing_or_broken_config_and_tokenizer_files(family_folder):
    config = family_folder / "config.json"
    text = config.read_text(encoding="utf-8")
    config.write_text("{not json", encoding="utf-8")
    _refused(family_folder, "config.json")
    config.write_text("[]", encoding="utf-8")
    _refused(family_folder, "config.json")
    config.unlink()
    _refused(family_folder, "no config.json")
    config.write_text(text, encoding="utf-8")

    (family_folder / "tokenizer.json").write_text("{not json", encoding="utf-8")
    _refused(family_folder, "tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (family_folder / name).unlink()
    _refused(family_folder, "no tokenizer")


@pytest.mark.parametrize("model", [None, 3, 2.5, ["tiny"], b"tiny"], ids=["None", "int", "float", "list", "bytes"])
def test_a_model_argument_that_is_not_a_name_or_path_is_a_type_error(model):
    with pytest.raises(TypeError, match="must be a name, hub id or folder path"):
        Engine.load(model, device="cpu")
    with pytest.raises(TypeError):
        load_model(model)


# --- loading straight into the requested dtype ---------------------------------------------------------------------


@pytest.mark.parametrize("family", ["geoground", "geopix"])
def test_weights_load_straight_into_the_requested_dtype(folders, family, monkeypatch):
    """from_pretrained is asked for bfloat16 itself, and no float32 parameter ever exists while loading: the host
    never holds a float32 copy of the model (about 36 GB for GeoPixel-7B)."""
    model_class = {"geoground": GeoGroundModel, "geopix": GeoPixModel}[family]
    asked: list[dict] = []
    returned: list[set[torch.dtype]] = []
    real = model_class.from_pretrained.__func__

    def spy(cls, *args, **kwargs):
        asked.append(kwargs)
        loaded = real(cls, *args, **kwargs)
        model = loaded[0] if isinstance(loaded, tuple) else loaded
        returned.append({p.dtype for p in model.parameters()})
        return loaded

    monkeypatch.setattr(model_class, "from_pretrained", classmethod(spy))
    registered: list[tuple[torch.dtype, str]] = []

    def record(module, name, parameter):
        if parameter is not None:
            registered.append((parameter.dtype, parameter.device.type))

    handle = torch.nn.modules.module.register_module_parameter_registration_hook(record)
    try:
        engine = Engine.load(str(folders[family]), device="cpu", dtype="bfloat16")
    finally:
        handle.remove()

    assert [kwargs["dtype"] for kwargs in asked] == [torch.bfloat16]
    assert asked[0].get("use_safetensors") is True and not asked[0].get("trust_remote_code")
    assert returned == [{torch.bfloat16}]  # already bfloat16 when transformers hands it over
    assert registered and {dtype for dtype, _ in registered} == {torch.bfloat16}
    assert {p.dtype for p in engine.model.parameters()} == {torch.bfloat16}

    # The same weights as loading in float32 and casting, as before.
    monkeypatch.undo()
    reference = model_class.from_pretrained(folders[family], dtype=torch.float32).to(torch.bfloat16)
    expected = reference.state_dict()
    for key, value in engine.model.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_float32_stays_the_default_for_direct_callers(folders):
    model, _, _ = load_model(folders["geoground"])
    assert {p.dtype for p in model.parameters()} == {torch.float32} and not model.training


# --- a published conversion started by several processes at once -------------------------------------------------

CHILD = textwrap.dedent(
    """
    import dataclasses, json, os, sys, time
    from pathlib import Path

    sys.path.insert(0, {root!r})
    cache, go, record, overrides = sys.argv[1], Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
    import engine.convert as convert
    from engine.hub import published

    entry = published.PUBLISHED["geopixel-7b"]
    published.PUBLISHED["geopixel-7b"] = dataclasses.replace(entry, overrides=overrides, converted_gb=0.001)
    real = convert.convert_geopixel

    def slow(source, output, *, log, **options):  # long enough for every process to reach the conversion
        with open(record, "a", encoding="utf-8") as out:
            out.write(f"{{os.getpid()}}\\n")

        def step(message):
            time.sleep(0.4)
            log(message)

        return real(source, output, log=step, **options)

    convert.convert_geopixel = slow
    Path(str(go) + f".ready-{{os.getpid()}}").touch()
    while not go.exists():
        time.sleep(0.01)
    print(published.prepare_published("GeoPixel-7B", cache))
    """
)


def test_processes_preparing_the_same_published_model_at_once_convert_it_once(tmp_path, monkeypatch):
    """The ranks of ``torchrun ... -m engine batch --model GeoPixel-7B``: real processes, started together on a
    complete download, all get the one converted folder; only one converts, and nothing of theirs is left over."""
    repositories, source_model, _ = write_repositories(tmp_path / "repos")
    FakeHub(repositories).install(monkeypatch)
    cache = tmp_path / "cache"
    with monkeypatch.context() as patched:  # download only
        patched.setattr(published, "_convert", lambda *args: None)
        published.prepare_published("GeoPixel-7B", cache)
    monkeypatch.undo()
    assert published.sources_cached("GeoPixel-7B", cache)

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(REPO_ROOT)), encoding="utf-8")
    go, record = tmp_path / "go", tmp_path / "conversions"
    overrides = json.dumps(geopixel_fixture.OVERRIDES)
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(script), str(cache), str(go), str(record), overrides]
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
        for _ in range(2)
    ]
    deadline = time.monotonic() + 240
    while len(list(tmp_path.glob("go.ready-*"))) < len(children):
        assert time.monotonic() < deadline, "the processes did not start"
        assert all(child.poll() is None for child in children), [child.communicate() for child in children]
        time.sleep(0.05)
    go.touch()
    results = [child.communicate(timeout=240) for child in children]

    for child, (_, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err[-2000:]
    root = cache / "geoground-converted"
    folder = root / "GeoPixel-7B-main"
    assert {out.strip().splitlines()[-1] for out, _ in results} == {str(folder)}
    assert len(record.read_text(encoding="utf-8").split()) == 1  # one conversion; the others waited for it
    assert [p.name for p in root.iterdir()] == ["GeoPixel-7B-main"]  # no partial folder, no lock file
    engine = Engine.load(str(folder), device="cpu")
    torch.testing.assert_close(
        engine.model.llm.model.embed_tokens.weight, source_model.llm.model.embed_tokens.weight, rtol=0, atol=0
    )


def test_waiting_for_another_conversion_can_be_cancelled(tmp_path, monkeypatch):
    """While one holder converts, a second caller waits (polling its should_stop) and leaves when asked."""
    monkeypatch.setattr(published, "LOCK_POLL_S", 0.01)
    lock = tmp_path / ".model.lock"
    said: list[str] = []
    calls: list[int] = []
    with published._exclusive(lock, lambda: False, lambda: None):
        with pytest.raises(Cancelled):
            with published._exclusive(lock, lambda: calls.append(1) or len(calls) > 3, lambda: said.append("wait")):
                pytest.fail("two holders of one lock")
        assert said == ["wait"] and lock.exists()
    assert not lock.exists()
    with published._exclusive(lock, lambda: True, lambda: None):  # free again: taken at once, stop not consulted
        pass
