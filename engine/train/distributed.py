"""Process-group set-up and model wrapping for ``torchrun``: DDP, or FSDP (per-parameter sharding) for big models.

Under ``torchrun`` every rank reads its own slice of the sample stream; the backend is NCCL on CUDA and gloo on
CPU, so the same recipe runs on a laptop with two processes and on a GPU node.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

# Blocks that become their own FSDP unit, so only one block's full weights are gathered at a time.
SHARDED_BLOCKS = ("LlamaDecoderLayer", "CLIPEncoderLayer", "Sam2MultiScaleBlock")


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed() -> DistContext:
    """Join the process group ``torchrun`` describes in the environment; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    return DistContext(rank, world, local, device)


def close_distributed() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model: nn.Module, strategy: str, context: DistContext) -> nn.Module:
    """The model ready for a distributed step: unchanged for one process, else DDP or FSDP as the recipe says."""
    if not context.distributed or strategy == "none":
        return model
    if strategy == "ddp":
        device_ids = [context.local_rank] if context.device.type == "cuda" else None
        # Parts unused by a batch's losses (no [SEG] in it, the IoU head) get no gradient: let DDP expect that.
        # DDP finds "used" parameters by walking back from the forward outputs, so it must see only the losses.
        return DistributedDataParallel(LossOnly(model), device_ids=device_ids, find_unused_parameters=True)
    from torch.distributed.fsdp import fully_shard

    for module in model.modules():
        if type(module).__name__ in SHARDED_BLOCKS:
            fully_shard(module)
    fully_shard(model)
    return model


class LossOnly(nn.Module):
    """The model's forward reduced to its loss tensors, so outputs outside the loss do not look used to DDP."""

    keys = ("loss", "ce_loss", "bce_loss", "dice_loss", "class_loss")

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, **batch) -> tuple[torch.Tensor, ...]:
        out = self.model(**batch)
        return tuple(getattr(out, key) for key in self.keys)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model itself under any DDP wrapping (FSDP shards in place, so its model is the model)."""
    if isinstance(model, DistributedDataParallel):
        model = model.module
    return model.model if isinstance(model, LossOnly) else model


def mean_across_ranks(values: dict[str, float], context: DistContext) -> dict[str, float]:
    """Average scalar logs over ranks (for logging only; gradients are reduced by DDP/FSDP)."""
    if not context.distributed:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=context.device)
    dist.all_reduce(tensor)
    return {k: float(v) / context.world_size for k, v in zip(keys, tensor.tolist())}


def barrier(context: DistContext) -> None:
    if context.distributed:
        dist.barrier()
