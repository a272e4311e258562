"""Host memory needed to load a converted model in bfloat16 on the CPU, against the size of its weights.

    OMP_NUM_THREADS=2 python tools/bench_load_memory.py

(a) GeoPixel-7B (``preset_config("geopixel-7b")``) counted on the meta device: its parameters and what they weigh
in bfloat16 and float32 (nothing is allocated). (b) A mid-size model (the demo preset with a larger LLM; about
``--hidden`` x ``--layers``) is saved in bfloat16 as a model folder, then loaded by a fresh Python process with
``Engine.load(folder, device="cpu", dtype="bfloat16")``; a thread samples the process's resident memory every few
milliseconds through the load and a pass that touches every weight (memory-mapped weights are resident only once
used), and the peak above the memory before the call is compared with the weights' size. ``--compare`` also
measures the earlier way (``from_pretrained`` in float32, then a cast) in another fresh process.
Linux only (it reads ``/proc/self/status``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GIB = 2**30
MIB = 2**20


def _status_bytes(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``RssAnon``, ``RssFile``) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


class PeakRss:
    """The highest resident set size seen while the block runs (sampled every ``interval`` s, plus ``ru_maxrss``)."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _status_bytes("VmRSS"))
            time.sleep(self.interval)

    def __enter__(self) -> PeakRss:
        self._maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _status_bytes("VmRSS"))
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss > self._maxrss_before:  # a new high was reached inside the block: the kernel's figure is exact
            self.peak = max(self.peak, maxrss)


def weight_bytes(model, dtype) -> int:
    """What the model's saved tensors (parameters and persistent buffers) weigh in ``dtype``."""
    import torch

    size = torch.empty((), dtype=dtype).element_size()
    return sum(t.numel() * (size if t.is_floating_point() else t.element_size()) for t in model.state_dict().values())


def full_size() -> dict:
    """GeoPixel-7B counted on the meta device."""
    import torch

    from engine.model import GeoGroundModel, preset_config

    with torch.device("meta"):
        model = GeoGroundModel(preset_config("geopixel-7b"))
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "bf16_bytes": weight_bytes(model, torch.bfloat16),
        "fp32_bytes": weight_bytes(model, torch.float32),
    }


def mid_size_config(hidden: int, layers: int):
    """The demo preset with an LLM of ``hidden`` width and ``layers`` layers (GQA 4:1, SwiGLU 2.75x)."""
    from engine.model import preset_config
    from engine.model.geoground.tokenizer import byte_vocab_size

    heads = hidden // 64
    llm = {
        "model_type": "llama",
        "vocab_size": byte_vocab_size(),
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": max(1, heads // 4),
        "intermediate_size": int(hidden * 2.75) // 64 * 64,
        "max_position_embeddings": 2048,
    }
    return preset_config("demo", llm=llm)


def save_mid_size(folder: Path, hidden: int, layers: int) -> int:
    """Write a random mid-size model in bfloat16 (and its tokenizer) to ``folder``; returns its weights' bytes."""
    import torch

    from engine.model import GeoGroundModel
    from engine.model.geoground.tokenizer import build_tokenizer

    config = mid_size_config(hidden, layers)
    torch.manual_seed(0)
    model = GeoGroundModel(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    build_tokenizer(config).save_pretrained(folder)
    return weight_bytes(model, torch.bfloat16)


def child(folder: str, mode: str) -> None:
    """Load ``folder`` in bfloat16 on the CPU and print the memory figures as JSON (run in a fresh process)."""
    import torch

    from engine.api import Engine
    from engine.model import GeoGroundModel

    before = _status_bytes("VmRSS")
    with PeakRss() as peak:
        if mode == "engine":
            engine = Engine.load(folder, device="cpu", dtype="bfloat16")
            model = engine.model
        else:  # the earlier way: float32 first, then cast
            model = GeoGroundModel.from_pretrained(folder, dtype=torch.float32).to(torch.bfloat16)
        loaded = _status_bytes("VmRSS")
        # Weights read from the memory-mapped file become resident only when used: touch every one, as a first
        # answer would, so the figure is the memory the model really takes.
        with torch.no_grad():
            for tensor in model.state_dict().values():
                tensor.sum()
    dtypes = sorted({str(p.dtype) for p in model.parameters()})
    figures = {"before": before, "loaded": loaded, "peak": peak.peak, "after": _status_bytes("VmRSS")}
    figures |= {"anon_after": _status_bytes("RssAnon"), "file_after": _status_bytes("RssFile"), "dtypes": dtypes}
    print(json.dumps(figures))


def measure(folder: Path, mode: str) -> dict:
    command = [sys.executable, __file__, "--child", str(folder), "--mode", mode]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1024, help="LLM width of the mid-size model")
    parser.add_argument("--layers", type=int, default=16, help="LLM layers of the mid-size model")
    parser.add_argument("--compare", action="store_true", help="also measure float32-then-cast loading")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="engine", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode)
        return 0

    full = full_size()
    print(
        f"(a) GeoPixel-7B on the meta device: {full['parameters'] / 1e9:.3f} B parameters, "
        f"{full['bf16_bytes'] / GIB:.2f} GiB in bfloat16 (load budget at 1.2x: {1.2 * full['bf16_bytes'] / GIB:.2f} "
        f"GiB), {full['fp32_bytes'] / GIB:.2f} GiB in float32"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "mid-size"
        weights = save_mid_size(folder, args.hidden, args.layers)
        on_disk = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
        print(
            f"(b) mid-size model (demo preset, LLM {args.hidden} x {args.layers} layers): weights "
            f"{weights / MIB:.0f} MiB in bfloat16 ({on_disk / MIB:.0f} MiB of safetensors)"
        )
        modes = ["engine", "float32-then-cast"] if args.compare else ["engine"]
        for mode in modes:
            figures = measure(folder, mode)
            grown = figures["peak"] - figures["before"]
            print(
                f"    {mode}: RSS before {figures['before'] / MIB:.0f} MiB, right after loading "
                f"{figures['loaded'] / MIB:.0f} MiB, with every weight touched {figures['after'] / MIB:.0f} MiB "
                f"(anonymous {figures['anon_after'] / MIB:.0f}, file-backed {figures['file_after'] / MIB:.0f}), "
                f"peak {figures['peak'] / MIB:.0f} MiB; peak growth {grown / MIB:.0f} MiB = "
                f"{grown / weights:.2f} x the bfloat16 weights; parameters {', '.join(figures['dtypes'])}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
