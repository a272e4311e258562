"""Resuming must continue a run bit for bit, randomness and learning-rate schedule included.

The tiny recipe's resume test (test_train_resume.py) cannot see a broken RNG or scheduler restore: its steps draw
no random numbers (no dropout; samples are pure functions of their index) and a single step follows the resume,
which runs with the learning rate stored in the optimizer state. Here the recipe has LoRA dropout (torch's
generator), a random augmentation drawing from numpy's and python's global generators, a warmup + cosine schedule
that changes the learning rate every step, and two steps after the cut. Two gloo ranks on CPU check that every
rank continues its own generators.

The file is also the rank program of that check: ``torchrun ... tests/engine/test_faults_resume.py --worker ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine.train import checkpoint as ckpt
from engine.train import recipe as recipe_module
from engine.train.config import Recipe, load_recipe
from engine.train.recipe import Trainer

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS, CUT = 4, 2
# Warmup 1 and cosine over 4 steps: multipliers 0, 1, 0.75, 0.25 (0 after the last), a new learning rate every step.
RECIPE = """
name = "resume-faults"
preset = "tiny"
seed = 3
output_dir = "{run}"
export_dir = "{model}"
export_dtype = "float32"
log_every = 1
save_every = 0

[data]
seed = 0
scene_size = 64
task = "mixed"
samples_per_scene = 2

[optim]
batch_size = 1
grad_accum = 1

[lora]
enabled = true
r = 4
alpha = 8
dropout = 0.3

[[stages]]
name = "joint"
steps = {steps}
lr = 1e-3
warmup_steps = 1
losses = "joint"
trainable = ["visual", "lora", "grounding", "mask_predictor"]
"""


def _recipe_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "recipe.toml"
    path.write_text(RECIPE.format(run=folder / "run", model=folder / "model", steps=STEPS), encoding="utf-8")
    return path


def _recipe(folder: Path, **top: Any) -> Recipe:
    return load_recipe(_recipe_file(folder), top)


def _generators() -> dict[str, Any]:
    """The global generators' states in comparable form."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state().tolist(),
        "numpy": [kind, keys.tolist(), pos, has_gauss, cached],
        "python": random.getstate(),
    }


@dataclass
class Outcome:
    history: list[dict[str, Any]]
    weights: dict[str, torch.Tensor]
    generators: dict[str, Any]
    seen: list[tuple[str, str]]  # (instruction, answer) of every sample a step trained on
    data_position: int


class Augmenting:
    """``collate`` plus a random augmentation from numpy's and python's global generators; records the samples."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.collate = recipe_module.collate

    def __call__(self, samples, tokenizer, class_names) -> dict[str, Any]:
        self.seen += [(s.instruction, s.answer) for s in samples]
        batch = self.collate(samples, tokenizer, class_names)
        images = []
        for image in batch["images"]:
            noise = np.random.randint(0, 24, size=image.shape)
            shift = random.randint(0, 40)
            images.append(np.clip(image.astype(np.int64) + noise + shift, 0, 255).astype(np.uint8))
        batch["images"] = images
        return batch


def _outcome(trainer: Trainer, history: list[dict[str, Any]], augment: Augmenting) -> Outcome:
    weights = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    return Outcome(history, weights, _generators(), list(augment.seen), trainer.progress.data_position)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """An uninterrupted run; the same run cut after CUT steps (a checkpoint) and resumed by a new trainer."""
    folder = tmp_path_factory.mktemp("resume-faults")
    with pytest.MonkeyPatch.context() as patch:
        augment = Augmenting()
        patch.setattr(recipe_module, "collate", augment)
        straight = Trainer(_recipe(folder / "straight"))
        fresh = _generators()  # as seeded, before any step
        outcome = {"fresh": fresh, "straight": _outcome(straight, straight.run(), augment)}

        augment.seen.clear()
        Trainer(_recipe(folder / "cut", save_every=CUT)).run(max_steps=CUT)
        checkpoint = folder / "cut" / "run" / f"checkpoint-{CUT}"
        assert checkpoint.is_dir()

        augment.seen.clear()
        resumed = Trainer(_recipe(folder / "cut", save_every=CUT))
        assert resumed.resume() == checkpoint
        assert resumed.progress.global_step == CUT and resumed.progress.stage_step == CUT
        outcome["resumed"] = _outcome(resumed, resumed.run(), augment)
    outcome["checkpoint"] = checkpoint
    return outcome


@pytest.mark.parametrize("generator", ["torch", "numpy", "python"])
def test_resume_continues_each_global_random_generator(runs, generator):
    straight, resumed = runs["straight"], runs["resumed"]
    assert straight.generators[generator] != runs["fresh"][generator]  # the steps did draw from it
    assert resumed.generators[generator] == straight.generators[generator]


def test_resume_continues_the_learning_rate_schedule(runs):
    lrs = [entry["lr"] for entry in runs["straight"].history]
    assert len(set(lrs)) == STEPS  # a new learning rate every step, so a restarted schedule shows
    assert [entry["lr"] for entry in runs["resumed"].history] == lrs


def test_resume_continues_the_data_stream(runs):
    # Samples are pure functions of (data seed, index): the position is the data stream's whole state.
    straight, resumed = runs["straight"], runs["resumed"]
    assert len(resumed.seen) == STEPS - CUT
    assert resumed.seen == straight.seen[CUT:]
    assert resumed.data_position == straight.data_position == STEPS


def test_resumed_run_is_bit_identical(runs):
    straight, resumed = runs["straight"], runs["resumed"]
    assert resumed.history == straight.history  # every loss, gradient norm and learning rate
    assert straight.weights.keys() == resumed.weights.keys()
    for name, value in straight.weights.items():
        assert torch.equal(value, resumed.weights[name]), name


def _to_older_format(folder: Path) -> None:
    """Rewrite a single-process checkpoint as the format before per-rank RNG files wrote it."""
    state = json.loads((folder / ckpt.STATE_FILE).read_text(encoding="utf-8"))
    with safe_open(str(folder / ckpt.rng_file(0)), framework="pt") as handle:
        state["rng"] = json.loads(handle.metadata()["rng"])
    save_file(load_file(folder / ckpt.rng_file(0)), folder / ckpt.RNG_FILE)
    (folder / ckpt.rng_file(0)).unlink()
    del state["format"], state["world_size"]
    (folder / ckpt.STATE_FILE).write_text(json.dumps(state), encoding="utf-8")


def test_a_checkpoint_of_the_older_format_still_resumes_exactly(runs, tmp_path, monkeypatch):
    older = tmp_path / "run" / f"checkpoint-{CUT}"
    shutil.copytree(runs["checkpoint"], older)
    _to_older_format(older)
    assert ckpt.saved_world_size(older) is None
    augment = Augmenting()
    monkeypatch.setattr(recipe_module, "collate", augment)
    trainer = Trainer(load_recipe(_recipe_file(tmp_path), {"save_every": CUT}))
    assert trainer.resume() == older
    got = _outcome(trainer, trainer.run(), augment)
    assert got.history == runs["straight"].history and got.generators == runs["straight"].generators
    for name, value in runs["straight"].weights.items():
        assert torch.equal(value, got.weights[name]), name


# --- per-rank generators, without processes: the files and the rule for another world size -----------------------
def _tiny_optimizer():
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    return model, optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def _seed(value: int) -> None:
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def _draws() -> tuple[float, float, float]:
    return float(torch.rand(())), float(np.random.rand()), random.random()


def test_each_rank_writes_and_restores_its_own_generators(tmp_path):
    model, optimizer, scheduler = _tiny_optimizer()
    folder = tmp_path / "checkpoint-1"
    expected = {}
    for rank in (1, 0):  # rank 0 last, as its state file comes after the barrier
        _seed(100 + rank)
        ckpt.save_checkpoint(folder, model, optimizer, scheduler, ckpt.Progress(), rank=rank, world_size=2)
        expected[rank] = _draws()
    assert sorted(p.name for p in folder.glob("rng*")) == ["rng-rank0.safetensors", "rng-rank1.safetensors"]
    assert ckpt.saved_world_size(folder) == 2 and expected[0] != expected[1]
    for rank in (0, 1):
        _seed(7)
        assert ckpt.restore_rng_state(folder, rank)
        assert _draws() == expected[rank]

    # Resumed by more ranks: a rank the checkpoint has no generators for keeps the ones it was seeded with.
    _seed(7)
    seeded = _draws()
    _seed(7)
    assert not ckpt.restore_rng_state(folder, 2)
    assert _draws() == seeded

    (folder / ckpt.rng_file(1)).unlink()
    with pytest.raises(ckpt.CheckpointError, match="rng-rank1.safetensors is missing"):
        ckpt.restore_rng_state(folder, 1)


def test_older_checkpoints_restore_rank_0_only(tmp_path):
    model, optimizer, scheduler = _tiny_optimizer()
    folder = tmp_path / "checkpoint-1"
    _seed(5)
    ckpt.save_checkpoint(folder, model, optimizer, scheduler, ckpt.Progress())
    expected = _draws()
    _to_older_format(folder)
    _seed(7)
    ckpt.load_training_state(folder, model, optimizer, scheduler, rank=0)
    assert _draws() == expected
    _seed(7)
    seeded = _draws()
    _seed(7)
    ckpt.load_training_state(folder, model, optimizer, scheduler, rank=1)  # no stream of its own: keeps its seed
    assert _draws() == seeded


# --- two gloo ranks ------------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(*args: str) -> str:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port"]
    command += [str(_free_port()), str(Path(__file__).resolve()), "--worker", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=400, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def _rank_outcome(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["outcome"])
    return load_file(path), meta


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_ranks_resume_their_own_generators(tmp_path, strategy):
    """2 ranks, cut after CUT steps and resumed by two new processes == 2 ranks straight, on every rank."""
    recipe = _recipe_file(tmp_path)
    _torchrun("straight", str(recipe), strategy, str(tmp_path / "out"))
    assert sorted(p.name for p in (tmp_path / "cut" / f"checkpoint-{CUT}").glob("rng*")) == [
        "rng-rank0.safetensors",
        "rng-rank1.safetensors",
    ]
    _torchrun("resume", str(recipe), strategy, str(tmp_path / "out"))

    finals = []
    for rank in (0, 1):
        expected, expected_meta = _rank_outcome(tmp_path / "out" / f"straight-rank{rank}.safetensors")
        got, got_meta = _rank_outcome(tmp_path / "out" / f"resume-rank{rank}.safetensors")
        assert got_meta == expected_meta, f"rank {rank}: history or generators differ"
        assert expected.keys() == got.keys()
        for name in expected:
            assert torch.equal(expected[name], got[name]), f"rank {rank}: {name}"
        finals.append(expected_meta["generators"])
    assert finals[0] != finals[1]  # the ranks draw different numbers, so sharing one stream would show


def _worker(argv: list[str]) -> None:
    """One torchrun rank: ``straight`` runs the recipe whole, then cut after CUT steps; ``resume`` resumes the cut."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    from engine.train.distributed import close_distributed, init_distributed, unwrap_model

    parser = argparse.ArgumentParser()
    for name in ("mode", "recipe", "strategy", "out"):
        parser.add_argument(name)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    context = init_distributed()
    folder = Path(args.recipe).parent
    cut = {"strategy": args.strategy, "output_dir": str(folder / "cut"), "save_every": CUT}
    try:
        if args.mode == "straight":
            trainer = Trainer(load_recipe(args.recipe, {"strategy": args.strategy}), context)
            history = trainer.run()
            generators = _generators()
            Trainer(load_recipe(args.recipe, cut), context).run(max_steps=CUT)
        else:
            trainer = Trainer(load_recipe(args.recipe, cut), context)
            assert trainer.resume() is not None
            history = trainer.run()
            generators = _generators()
        # Full weights on every rank (with cpu_offload only rank 0 would get them).
        weights = get_model_state_dict(unwrap_model(trainer.model), options=StateDictOptions(full_state_dict=True))
        meta = json.dumps({"history": history, "generators": generators})
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {name: value.detach().cpu().contiguous() for name, value in weights.items()}
        save_file(tensors, out / f"{args.mode}-rank{context.rank}.safetensors", metadata={"outcome": meta})
    finally:
        close_distributed()


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    _worker(sys.argv[2:])
