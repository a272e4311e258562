"""Training checkpoints that resume exactly: weights, optimizer, scheduler, RNG states and the data position.

Everything with tensors is written with safetensors (no pickle anywhere); the rest is JSON. States are taken as full
(unsharded) state dicts through ``torch.distributed.checkpoint.state_dict``, which treats a plain module, a DDP
module and an FSDP-sharded module alike, so a checkpoint can be resumed under any strategy.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

STATE_FILE = "trainer_state.json"
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
RNG_FILE = "rng.safetensors"
_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)


class CheckpointError(ValueError):
    """A checkpoint folder is missing files or does not match the run that tries to resume from it."""


@dataclass
class Progress:
    """Where a run is: the stage, the optimizer step within it, the global step and samples consumed."""

    stage: int = 0
    stage_step: int = 0
    global_step: int = 0
    data_position: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def _flatten_optimizer(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors, scalars = {}, {}
    for name, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}\t{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{name}\t{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, dict[str, Any]] = {}
    for flat, value in [*tensors.items(), *meta["scalars"].items()]:
        name, key = flat.split("\t")
        state.setdefault(name, {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(keys.astype(np.int64))}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    version, internal, gauss = random.getstate()
    meta = {"numpy": [kind, pos, has_gauss, cached], "python": [version, list(internal), gauss]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])
    kind, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, tensors["numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


def save_checkpoint(folder: Path, model, optimizer, scheduler, progress: Progress, is_main: bool = True) -> Path:
    """Write a resumable checkpoint (a collective call under DDP/FSDP: every rank must call it)."""
    model_state = get_model_state_dict(model, options=_FULL)
    optim_state = get_optimizer_state_dict(model, optimizer, options=_FULL)
    if not is_main:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model_state.items()}, folder / MODEL_FILE)
    optim_tensors, optim_meta = _flatten_optimizer(optim_state)
    save_file(optim_tensors, folder / OPTIMIZER_FILE)
    rng_tensors, rng_meta = rng_state()
    save_file(rng_tensors, folder / RNG_FILE)
    state = {
        "progress": progress.__dict__,
        "optimizer": optim_meta,
        "scheduler": scheduler.state_dict(),
        "rng": rng_meta,
    }
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    return folder


def read_progress(folder: Path) -> Progress:
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder} is not a training checkpoint (no {STATE_FILE})")
    return Progress(**json.loads(path.read_text(encoding="utf-8"))["progress"])


def load_model_weights(folder: Path, model) -> None:
    """Load checkpoint weights into a (possibly wrapped or sharded) model."""
    state = load_file(Path(folder) / MODEL_FILE)
    try:
        set_model_state_dict(model, state, options=StateDictOptions(full_state_dict=True, strict=True))
    except RuntimeError as exc:
        raise CheckpointError(f"{folder}: the weights do not fit this model ({str(exc).splitlines()[0]})") from None


def load_training_state(folder: Path, model, optimizer, scheduler, optimizer_too: bool = True) -> None:
    """Restore RNG states and, mid-stage, optimizer and scheduler (weights first, with :func:`load_model_weights`).

    A checkpoint taken at a stage boundary holds the finished stage's optimizer: the next stage starts a new one.
    """
    folder = Path(folder)
    state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    if optimizer_too:
        optim_state = _unflatten_optimizer(load_file(folder / OPTIMIZER_FILE), state["optimizer"])
        # Parameters that never received a gradient (unused by the losses) have no state, here as in the run.
        options = StateDictOptions(full_state_dict=True, strict=False)
        set_optimizer_state_dict(model, optimizer, optim_state, options=options)
        scheduler.load_state_dict(state["scheduler"])
    set_rng_state(load_file(folder / RNG_FILE), state["rng"])


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The checkpoint with the highest step under ``output_dir``, or None."""
    found = sorted(Path(output_dir).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    found = [p for p in found if (p / STATE_FILE).is_file()]
    return found[-1] if found else None
