"""Checkpoints resume exactly: N steps straight equal N/2 steps, a checkpoint, a fresh trainer resuming, N/2 steps."""

from __future__ import annotations

import pytest
import torch

from engine.train.config import load_recipe
from engine.train.recipe import Trainer


def _recipe(tmp_path, **top):
    return load_recipe("tiny", {"output_dir": str(tmp_path / "run"), "export_dir": str(tmp_path / "model"), **top})


def _state(trainer) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in trainer.model.named_parameters()}


def test_resume_is_exact(tmp_path):
    # 3 steps straight == 2 steps + checkpoint + a new Trainer resuming + 1 step; the cut falls mid joint stage.
    straight = Trainer(_recipe(tmp_path / "a", save_every=0))
    history = straight.run()
    first = Trainer(_recipe(tmp_path / "b", save_every=2))
    first.run(max_steps=2)
    assert (tmp_path / "b" / "run" / "checkpoint-2").is_dir()
    resumed = Trainer(_recipe(tmp_path / "b", save_every=2))
    assert resumed.resume() is not None
    assert resumed.progress.global_step == 2 and resumed.progress.stage_step == 1
    resumed_history = resumed.run()
    assert [e["loss"] for e in resumed_history] == [e["loss"] for e in history]
    expected, got = _state(straight), _state(resumed)
    assert expected.keys() == got.keys()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name


def test_resume_needs_a_matching_checkpoint(tmp_path):
    trainer = Trainer(_recipe(tmp_path))
    assert trainer.resume() is None  # nothing saved yet: a fresh start
    with pytest.raises(ValueError, match="not a training checkpoint"):
        trainer.resume(tmp_path)


def test_a_stage_added_after_a_finished_run_continues_it_exactly(tmp_path):
    """A finished run resumed with one more stage equals the longer recipe run straight; that stage may change the
    data (here: "segment all" questions only, with absent classes)."""
    from engine.train.config import StageConfig

    focus = {"name": "focus", "steps": 2, "lr": 5e-4, "losses": "joint", "trainable": ["grounding", "mask_predictor"]}
    focus["data"] = {"task": "segment_all", "with_absent": True, "segment_all_style": "grounded"}

    def longer(folder):
        recipe = _recipe(folder, save_every=0)
        recipe.stages.append(StageConfig(**focus))
        return recipe

    straight = Trainer(longer(tmp_path / "a"))
    history = straight.run()
    short = Trainer(_recipe(tmp_path / "b", save_every=0))
    short.run()
    short.checkpoint(short.optimizer, short.scheduler)  # what train() does when a recipe finishes
    resumed = Trainer(longer(tmp_path / "b"))
    assert resumed.resume() is not None and resumed.progress.stage == 2
    resumed_history = resumed.run()
    assert [e["stage"] for e in resumed_history[-2:]] == ["focus", "focus"]
    assert [e["loss"] for e in resumed_history] == [e["loss"] for e in history]
    expected, got = _state(straight), _state(resumed)
    for name in expected:
        assert torch.equal(expected[name], got[name]), name
    stream = resumed._stage_stream()
    assert stream.config.task == "segment_all" and stream.config.with_absent
    assert resumed.stream.config.task == "mixed"  # the recipe's own data is untouched
    samples = [stream[i] for i in range(12)]
    assert {s.task for s in samples} == {"segment_all"}


def test_data_workers_change_the_speed_of_a_run_never_its_result(tmp_path):
    # Two micro-batches per step and a stage change: the prefetched batches must be the ones drawn in the loop.
    optim = {"batch_size": 1, "grad_accum": 2, "max_grad_norm": 1.0}
    serial = Trainer(_recipe(tmp_path / "a", save_every=0, optim=optim))
    expected = serial.run()
    parallel = Trainer(_recipe(tmp_path / "b", save_every=0, optim=optim, data_workers=2))
    try:
        got = parallel.run()
        assert parallel.prefetcher is not None and not parallel.prefetcher.pending  # nothing drawn past the end
    finally:
        parallel.close()
    assert [e["loss"] for e in got] == [e["loss"] for e in expected]
    for name, value in _state(serial).items():
        assert torch.equal(value, _state(parallel)[name]), name
