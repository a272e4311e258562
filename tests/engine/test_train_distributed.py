"""DDP and FSDP with two gloo processes on CPU (torchrun in a subprocess) train exactly like one process.

Two ranks with one sample each and averaged gradients must give the same weights as one process accumulating the
same two samples (each micro-batch loss halved); that holds only if sharding the data, reducing the gradients and
(for FSDP) sharding and re-gathering the parameters are all right.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine.train.config import load_recipe
from engine.train.recipe import build_model, train

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE = """
name = "distributed-check"
preset = "tiny"
output_dir = "{run}"
export_dir = "{model}"
export_dtype = "float32"
save_every = 0
log_every = 1

[data]
scene_size = 64
samples_per_scene = 1

[optim]
batch_size = 1
grad_accum = {accum}

[[stages]]
name = "joint"
steps = 2
lr = 1e-3
losses = "joint"
trainable = ["visual", "llm", "grounding", "mask_predictor"]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _recipe_file(folder: Path, accum: int) -> Path:
    path = folder / "recipe.toml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(RECIPE.format(run=folder / "run", model=folder / "model", accum=accum), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def single_process(tmp_path_factory) -> dict[str, torch.Tensor]:
    """Weights after 2 steps in one process, accumulating the two ranks' samples."""
    folder = tmp_path_factory.mktemp("single")
    torch.set_num_threads(1)
    recipe = load_recipe(_recipe_file(folder, accum=2))
    history = train(recipe)
    assert len(history) == 2
    trained = load_file(folder / "model" / "model.safetensors")
    initial = build_model(recipe)[0].state_dict()
    assert any(not torch.equal(initial[name], trained[name]) for name in trained)  # the steps did change weights
    return trained


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_two_gloo_processes_match_one_process(tmp_path, strategy, single_process):
    recipe = _recipe_file(tmp_path / strategy, accum=1)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port"]
    command += [str(_free_port()), "-m", "engine.train.cli", "--recipe", str(recipe), "--set", f"strategy={strategy}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert f"{strategy} on 2 ranks, parameters sharded: {strategy == 'fsdp'}" in output

    got = load_file(tmp_path / strategy / "model" / "model.safetensors")
    expected = single_process
    assert got.keys() == expected.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], atol=2e-5, rtol=1e-4, msg=name)
