"""Training checkpoints that resume exactly: weights, optimizer, scheduler, RNG states and the data position.

Everything with tensors is written with safetensors (no pickle anywhere); the rest is JSON. States are taken as full
(unsharded) state dicts through ``torch.distributed.checkpoint.state_dict``, which treats a plain module, a DDP
module and an FSDP-sharded module alike, so a checkpoint can be resumed under any strategy.

Random generators (torch, CUDA, numpy, python) are per rank: each rank seeds its own and draws its own dropout masks,
samples and augmentations, so each rank writes ``rng-rank{r}.safetensors`` and restores its own file. A checkpoint
records the world size it was written with. Resumed with the same world size, every rank continues exactly; with
another one the run cannot be exact anyway (each step takes ``world_size`` batches), so rank ``r`` restores the
checkpoint's rank ``r`` generators when there is such a rank and keeps its freshly seeded ones otherwise. Checkpoints
of the older format (one ``rng.safetensors``, rank 0's generators) count as written by one process under that rule.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors import safe_open
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
RNG_FILE = "rng.safetensors"  # the older format: rank 0's generators only
FORMAT = 2  # 2: one RNG file per rank and the world size in the state file
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
    """This process's generators as tensors (large parts) and JSON values (the rest)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors = {"torch": torch.get_rng_state(), "numpy": torch.from_numpy(keys.astype(np.int64))}
    if torch.cuda.is_available():
        tensors["cuda"] = torch.cuda.get_rng_state()
    version, internal, gauss = random.getstate()
    meta = {"numpy": [kind, pos, has_gauss, cached], "python": [version, list(internal), gauss]}
    return tensors, meta


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Set this process's generators from :func:`rng_state`'s output."""
    torch.set_rng_state(tensors["torch"])
    if "cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["cuda"])
    kind, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, tensors["numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


def rng_file(rank: int) -> str:
    """The file that holds one rank's generators."""
    return f"rng-rank{rank}.safetensors"


def _barrier(world_size: int) -> None:
    if world_size > 1 and dist.is_available() and dist.is_initialized():
        dist.barrier()


def save_checkpoint(
    folder: Path, model, optimizer, scheduler, progress: Progress, *, rank: int = 0, world_size: int = 1
) -> Path:
    """Write a resumable checkpoint (a collective call under DDP/FSDP: every rank must call it).

    Every rank writes its own generators; rank 0 writes the rest and, once every rank is done, the state file, so a
    folder with a state file is complete (what :func:`latest_checkpoint` relies on).
    """
    folder = Path(folder)
    rng_tensors, rng_meta = rng_state()
    model_state = get_model_state_dict(model, options=_FULL)
    optim_state = get_optimizer_state_dict(model, optimizer, options=_FULL)
    folder.mkdir(parents=True, exist_ok=True)
    if rank == 0:
        (folder / STATE_FILE).unlink(missing_ok=True)  # an overwritten folder is incomplete until the end
    metadata = {"rng": json.dumps(rng_meta), "rank": str(rank), "world_size": str(world_size)}
    save_file(rng_tensors, folder / rng_file(rank), metadata=metadata)
    if rank == 0:
        save_file({k: v.contiguous() for k, v in model_state.items()}, folder / MODEL_FILE)
        optim_tensors, optim_meta = _flatten_optimizer(optim_state)
        save_file(optim_tensors, folder / OPTIMIZER_FILE)
    _barrier(world_size)
    if rank != 0:
        return folder
    state = {
        "format": FORMAT,
        "world_size": world_size,
        "progress": progress.__dict__,
        "optimizer": optim_meta,
        "scheduler": scheduler.state_dict(),
    }
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    return folder


def _read_state(folder: Path) -> dict[str, Any]:
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{folder} is not a training checkpoint (no {STATE_FILE})")
    return json.loads(path.read_text(encoding="utf-8"))


def saved_world_size(folder: Path) -> int | None:
    """How many ranks wrote the checkpoint; None for the older format, which does not say (and kept rank 0's
    generators only)."""
    size = _read_state(folder).get("world_size")
    return None if size is None else int(size)


def restore_rng_state(folder: Path, rank: int = 0) -> bool:
    """Set this rank's generators from the checkpoint; False when it holds none for this rank.

    The rule for a world size other than the checkpoint's is in the module docstring: a rank without a saved
    stream keeps the one it was seeded with (seed + rank), so ranks never share a stream.
    """
    folder = Path(folder)
    state = _read_state(folder)
    if "world_size" not in state:  # the older format
        if rank != 0:
            return False
        path = folder / RNG_FILE
        if not path.is_file():
            raise CheckpointError(f"{folder} is incomplete: {RNG_FILE} is missing")
        set_rng_state(load_file(path), state["rng"])
        return True
    if rank >= int(state["world_size"]):
        return False
    path = folder / rng_file(rank)
    if not path.is_file():
        raise CheckpointError(
            f"{folder} is incomplete: {path.name} is missing (written by {state['world_size']} ranks)"
        )
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["rng"])
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    set_rng_state(tensors, meta)
    return True


def read_progress(folder: Path) -> Progress:
    return Progress(**_read_state(folder)["progress"])


def load_model_weights(folder: Path, model) -> None:
    """Load checkpoint weights into a (possibly wrapped or sharded) model."""
    state = load_file(Path(folder) / MODEL_FILE)
    try:
        set_model_state_dict(model, state, options=StateDictOptions(full_state_dict=True, strict=True))
    except RuntimeError as exc:
        raise CheckpointError(f"{folder}: the weights do not fit this model ({str(exc).splitlines()[0]})") from None


def load_training_state(
    folder: Path, model, optimizer, scheduler, optimizer_too: bool = True, *, rank: int = 0
) -> None:
    """Restore this rank's RNG states and, mid-stage, optimizer and scheduler (weights first, with
    :func:`load_model_weights`).

    A checkpoint taken at a stage boundary holds the finished stage's optimizer: the next stage starts a new one.
    """
    folder = Path(folder)
    state = _read_state(folder)
    if optimizer_too:
        optim_state = _unflatten_optimizer(load_file(folder / OPTIMIZER_FILE), state["optimizer"])
        # Parameters that never received a gradient (unused by the losses) have no state, here as in the run.
        options = StateDictOptions(full_state_dict=True, strict=False)
        set_optimizer_state_dict(model, optimizer, optim_state, options=options)
        scheduler.load_state_dict(state["scheduler"])
    restore_rng_state(folder, rank)


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The checkpoint with the highest step under ``output_dir``, or None."""
    found = sorted(Path(output_dir).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    found = [p for p in found if (p / STATE_FILE).is_file()]
    return found[-1] if found else None
