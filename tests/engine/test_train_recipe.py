"""The recipe end to end on the tiny preset: loss goes down on a fixed batch, the command trains and exports."""

from __future__ import annotations

import argparse

import numpy as np
import torch
from safetensors.torch import load_file

from engine.api import Engine
from engine.train import cli
from engine.train.config import load_recipe
from engine.train.recipe import Trainer


def _recipe(tmp_path, **top):
    overrides = {"output_dir": str(tmp_path / "run"), "export_dir": str(tmp_path / "model"), **top}
    return load_recipe("tiny", overrides)


def test_steps_on_a_fixed_batch_lower_the_joint_loss(tmp_path):
    recipe = _recipe(tmp_path)
    recipe.optim.grad_accum = 1
    trainer = Trainer(recipe)
    stage = recipe.stages[1]  # joint: vision, LoRA, grounding and mask predictor
    stage.lr = 3e-3
    fixed = trainer._micro_batch(0)
    trainer._micro_batch = lambda micro: fixed
    model, optimizer, scheduler = trainer._prepare_stage(stage)
    scheduler = torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)  # plain steps for this check
    losses = [trainer.step(model, optimizer, scheduler, stage)["loss"] for _ in range(3)]
    assert losses[2] < losses[1] < losses[0], losses


def test_train_command_runs_both_stages_and_exports_a_loadable_model(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        ["--recipe", "tiny", "--output-dir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "model")]
    )
    assert cli.run(args) == 0
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    recipe = load_recipe("tiny")
    assert len(log) == recipe.total_steps
    assert '"stage": "text"' in log[0] and '"stage": "joint"' in log[-1]
    assert '"bce_loss": 0.0' in log[0] and '"bce_loss": 0.0' not in log[-1]  # stage 1 trains text only
    assert (tmp_path / "run" / f"checkpoint-{recipe.total_steps}" / "model.safetensors").is_file()
    exported = load_file(tmp_path / "model" / "model.safetensors")
    assert not any("lora" in name for name in exported)  # merged into the LLM weights
    engine = Engine.load(str(tmp_path / "model"), device="cpu")
    reply = engine.chat(np.zeros((48, 48, 3), dtype=np.uint8), "Segment all ships.", max_new_tokens=4)
    assert isinstance(reply.text, str)
    bad = parser.parse_args(["--recipe", "tiny", "--set", "strategy=mpi"])
    assert cli.run(bad) == 2
    assert "strategy must be one of" in capsys.readouterr().out
