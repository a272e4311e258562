"""Reading published pickle checkpoints safely and writing our sharded safetensors folder.

Pickles can run code when unpickled, so they are only opened with ``torch.load(weights_only=True)``, which
accepts tensors and plain containers and refuses everything else. Shards are memory-mapped and converted one at a
time, so a 7B checkpoint never has to fit in memory twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch
from safetensors.torch import save_file

from .report import ConversionError

WEIGHTS_INDEX = "pytorch_model.bin.index.json"
SINGLE_WEIGHTS = "pytorch_model.bin"
SAFE_INDEX = "model.safetensors.index.json"


def pickle_shards(folder: Path) -> list[Path]:
    """The ``.bin`` files of a published checkpoint folder, in index order (or the single ``pytorch_model.bin``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConversionError(f"{folder} is not a folder")
    index = folder / WEIGHTS_INDEX
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        names = sorted(set(weight_map.values()))
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            raise ConversionError(f"{folder} lacks shard files listed in {WEIGHTS_INDEX}: {', '.join(missing)}")
        return [folder / name for name in names]
    if (folder / SINGLE_WEIGHTS).is_file():
        return [folder / SINGLE_WEIGHTS]
    raise ConversionError(f"{folder} has neither {WEIGHTS_INDEX} nor {SINGLE_WEIGHTS}")


def load_pickle(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a pickle, refusing anything but tensors (memory-mapped when the format allows)."""
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) pickles cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # weights_only refuses pickled code with an UnpicklingError
        raise ConversionError(f"{path} is not a plain tensor checkpoint: {error}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f"{path} does not hold a flat dict of tensors")
    return state


def iter_shards(folder: Path) -> Iterator[tuple[Path, dict[str, torch.Tensor]]]:
    for path in pickle_shards(folder):
        yield path, load_pickle(path)


class ShardWriter:
    """Writes ``model-0000i-of-0000N.safetensors`` files and the index transformers' ``from_pretrained`` reads."""

    def __init__(self, folder: Path, total: int, dtype: torch.dtype | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.total = total
        self.dtype = dtype
        self.count = 0
        self.weight_map: dict[str, str] = {}
        self.size = 0

    def write(self, tensors: dict[str, torch.Tensor]) -> None:
        self.count += 1
        if self.count > self.total:
            raise RuntimeError(f"more shards written than the {self.total} announced")
        name = f"model-{self.count:05d}-of-{self.total:05d}.safetensors"
        ready = {}
        for key, tensor in tensors.items():
            if self.dtype is not None and tensor.is_floating_point():
                tensor = tensor.to(self.dtype)
            ready[key] = (
                tensor.contiguous().clone() if tensor.storage_offset() or not tensor.is_contiguous() else tensor
            )
            self.size += tensor.numel() * tensor.element_size()
            self.weight_map[key] = name
        save_file(ready, str(self.folder / name), metadata={"format": "pt"})

    def finish(self) -> None:
        index = {"metadata": {"total_size": self.size}, "weight_map": dict(sorted(self.weight_map.items()))}
        (self.folder / SAFE_INDEX).write_text(json.dumps(index, indent=2), encoding="utf-8")
