"""Fine-tuning a saved model on a training set built from layers: a model folder at the end, nothing half-written."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine import cli
from engine.data.layer_dataset import build_dataset
from engine.train.config import RecipeError
from engine.train.finetune import finetune
from engine.types import Cancelled

from .test_examples import tiny_engine
from .test_layer_dataset import layers  # noqa: F401 - the fixture


@pytest.fixture
def base(tmp_path):
    """A tiny model saved as a folder: the base to fine-tune."""
    engine = tiny_engine(examples=False, seed=5)
    folder = tmp_path / "base"
    engine.model.save_pretrained(folder, safe_serialization=True)
    engine.tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def dataset(layers, tmp_path):  # noqa: F811 - the imported fixture
    raster, vector = layers
    build_dataset(raster, vector, tmp_path / "set", class_field="kind", chip=128, overlap=32)
    return tmp_path / "set"


def weights(folder):
    return {k: v.float() for k, v in load_file(folder / "model.safetensors").items()}


def test_a_fine_tuned_model_folder_loads_and_differs_where_it_was_trained(base, dataset, tmp_path):
    seen = []
    report = finetune([dataset], str(base), tmp_path / "mine", minutes=None, steps=4, lr=1e-3,
                      on_step=lambda step, total, loss: seen.append((step, total)))  # fmt: skip
    out = tmp_path / "mine"
    assert report.steps == 4 and seen[-1] == (4, 4)
    assert {"config.json", "model.safetensors", "tokenizer.json", "finetune.json", "README.md"} <= {
        p.name for p in out.iterdir()
    }
    # "solar panel" is new to the base model: its language model trains too, the vision side does not
    assert report.parts == ["grounding", "mask_predictor", "llm"]
    before, after = weights(base), weights(out)
    changed = {k.split(".")[0] for k in before if not torch.equal(before[k], after[k])}
    assert changed <= {"grounding", "mask_predictor", "llm"} and {"mask_predictor", "llm"} <= changed
    logged = json.loads((out / "finetune.json").read_text())
    assert len(logged["history"]) == 4 and sorted(logged["classes"]) == ["solar panel", "storage tank"]
    from engine.api import Engine

    Engine.load(str(out), device="cpu")  # a complete model folder


def test_training_lowers_the_loss_on_the_training_set(base, dataset, tmp_path):
    report = finetune([dataset], str(base), tmp_path / "mine", minutes=None, steps=30, lr=2e-3, batch_size=2)
    losses = [h["loss"] for h in report.history]
    assert np.mean(losses[-6:]) < 0.8 * np.mean(losses[:6]), losses


def test_a_cancelled_fine_tune_writes_nothing_and_leaves_the_base_as_it_was(base, dataset, tmp_path):
    before = {p.name: p.read_bytes() for p in base.iterdir()}
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled, match="no model was written"):
        finetune([dataset], str(base), tmp_path / "mine", minutes=None, steps=10, should_stop=stop)
    assert not (tmp_path / "mine").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine")]
    assert {p.name: p.read_bytes() for p in base.iterdir()} == before


def test_bad_requests_are_refused_before_any_training(base, dataset, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x.txt").write_text("keep me")
    with pytest.raises(RecipeError, match="already exists"):
        finetune([dataset], str(base), taken, steps=1)
    assert (taken / "x.txt").read_text() == "keep me"
    with pytest.raises(RecipeError, match="positive minutes"):
        finetune([dataset], str(base), tmp_path / "a", minutes=0)
    with pytest.raises(RecipeError, match="at least one"):
        finetune([], str(base), tmp_path / "a")
    with pytest.raises(ValueError, match="manifest|dataset|training"):
        finetune([tmp_path], str(base), tmp_path / "a", minutes=None, steps=1)
    assert not (tmp_path / "a").exists()


def test_the_cli_fine_tunes_and_reports_user_errors(base, dataset, tmp_path, capsys):
    code = cli.main(["finetune", str(dataset), "--base", str(base), "-o", str(tmp_path / "m"), "--no-time-limit",
                     "--steps", "2", "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "fine-tuned from" in capsys.readouterr().out
    code = cli.main(["finetune", str(dataset), "--base", str(base), "-o", str(tmp_path / "m"), "--steps", "2"])
    assert code == 2
    assert "already exists" in capsys.readouterr().err


def test_the_engine_process_fine_tunes_with_progress_and_cancel(base, dataset, tmp_path):
    from engine.service import EngineService
    from engine.worker import _Cancels, handle

    sent: list[dict] = []
    params = {"datasets": [str(dataset)], "base": str(base), "output": str(tmp_path / "m"), "minutes": None, "steps": 3}
    handle(EngineService(), {"op": "finetune", "id": 7, "params": params}, sent.append, _Cancels())
    progress = [m for m in sent if m.get("event") == "progress"]
    assert [m["done"] for m in progress][-1] == 3 and all(m["total"] == 3 and m["id"] == 7 for m in progress)
    done = sent[-1]
    assert done["event"] == "done" and done["model"] == str(tmp_path / "m") and len(done["losses"]) == 3

    cancels = _Cancels()
    cancels.add(8)
    sent.clear()
    params["output"] = str(tmp_path / "n")
    handle(EngineService(), {"op": "finetune", "id": 8, "params": params}, sent.append, cancels)
    assert sent[-1]["event"] == "error" and sent[-1]["kind"] == "cancelled"
    assert not (tmp_path / "n").exists()
    sent.clear()
    handle(EngineService(), {"op": "finetune", "id": 9, "params": {"base": "demo"}}, sent.append, _Cancels())
    assert sent[-1]["kind"] == "input" and "needs datasets, output" in sent[-1]["message"]


def test_a_time_budget_shorter_than_the_plan_saves_the_model_at_the_budget(base, dataset, tmp_path, monkeypatch):
    import itertools

    import engine.train.finetune as module

    clock = itertools.count(0, 100)  # every reading of the clock: 100 s later
    monkeypatch.setattr(module.time, "perf_counter", lambda: float(next(clock)))
    report = finetune([dataset], str(base), tmp_path / "mine", minutes=60.0, steps=50)
    assert 1 <= report.steps < 50  # stopped by the budget, not by the plan
    assert (tmp_path / "mine" / "model.safetensors").is_file()
