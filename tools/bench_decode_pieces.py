"""Decoding time per token for each attention of the static-cache decoding step, and for each piece length.

Produces the decode-attention figures of docs/BENCHMARKS.md ("How decoding gets there"): transformers' SDPA
attention against our grouped attention (``engine.model.generation.grouped_decode_attention``) over the whole cache
in one piece and in pieces of 128 / 256 / 512 positions, each timed as `python -m engine.bench answer` times
decoding (a random model at a preset's size, an answer of ``--tokens`` tokens forced by the script, the median of
``--repeats`` runs after a warm-up, per token = (time for N tokens - time for 1) / (N - 1)). On CUDA the steps are
replayed as a CUDA graph and the memory-bandwidth floor is printed too; on a CPU the same static-cache steps run
one by one. ``--count-kernels`` also counts the kernels one decoding step launches with the dynamic cache.

The GPU figures (geopixel-7b layout, 800 x 800 image, 100 tokens):

    python tools/bench_decode_pieces.py --config geopixel-7b --device cuda --size 800 --tokens 100 --count-kernels

The smallest run (a few seconds on a CPU):

    python tools/bench_decode_pieces.py --config tiny --size 256 --tokens 8 --repeats 1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers.generation.logits_process import LogitsProcessorList  # noqa: E402

from engine import bench  # noqa: E402
from engine.model import build_tokenizer, encode, generation  # noqa: E402
from engine.model.chat import template_for  # noqa: E402
from engine.types import Turn  # noqa: E402

QUESTION = "Can you provide a detailed description of this image with grounded masks?"


@contextmanager
def decoding_attention(attention: str, chunk: int) -> Iterator[None]:
    """Within this block the static-cache decoding step uses ``attention`` and caches sized in ``chunk`` positions
    (which is also the piece length of the grouped attention)."""
    saved = generation.DECODE_ATTENTION, generation.DECODE_CHUNK
    generation.DECODE_ATTENTION, generation.DECODE_CHUNK = attention, chunk
    try:
        yield
    finally:
        generation.DECODE_ATTENTION, generation.DECODE_CHUNK = saved


def variants(pieces: list[int], capacity: int) -> list[tuple[str, str, int]]:
    """(label, attention, chunk) for every timed variant. ``capacity``: the static cache of the default chunk, which
    the one-piece variant takes as its chunk so that the cache keeps its size and is read in a single piece."""
    rows = [("transformers SDPA", "sdpa", generation.DECODE_CHUNK)]
    rows.append((f"grouped, one piece ({capacity} positions)", generation.DECODE_ATTENTION, capacity))
    rows += [(f"grouped, pieces of {n}", generation.DECODE_ATTENTION, n) for n in pieces]
    return rows


def count_kernels(decode: Callable[[int], object], tokens: int, device: torch.device) -> tuple[float, str]:
    """Kernels one decoding step launches: (kernels for ``tokens`` tokens - kernels for 1) / (tokens - 1).

    On CUDA these are the GPU's activities (kernels and copies); on a CPU, top-level ATen operator calls."""
    from torch.profiler import ProfilerActivity, profile

    cuda = device.type == "cuda"
    activity = ProfilerActivity.CUDA if cuda else ProfilerActivity.CPU

    def launched(count: int) -> int:
        with profile(activities=[activity]) as prof:
            decode(count)
            if cuda:
                torch.cuda.synchronize(device)
        events = prof.events()
        if cuda:
            return sum(1 for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
        return sum(1 for e in events if e.name.startswith("aten::") and e.cpu_parent is None)

    per_step = (launched(tokens) - launched(1)) / (tokens - 1)
    return per_step, "GPU kernels and copies" if cuda else "top-level ATen operators"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny", help="model preset (random weights): tiny, demo, geopixel-7b")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--size", type=int, default=800, help="square image side in pixels")
    parser.add_argument("--tokens", type=int, default=100, help="tokens decoded per timed answer (at least 2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pieces", type=int, nargs="+", default=[128, 256, 512], help="piece lengths to time")
    parser.add_argument("--count-kernels", action="store_true", help="also count kernels per dynamic-cache step")
    args = parser.parse_args()
    if args.tokens < 2:
        parser.error("--tokens must be at least 2")

    where = torch.device(args.device)
    model = bench.random_model(args.config, where, getattr(torch, args.dtype))
    tokenizer = build_tokenizer(model.config)
    image = np.random.default_rng(0).integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
    with torch.inference_mode():  # the prompt as the engine builds it: image tokens, then the rendered question
        features = model.encode_image(image)
        ids, _ = encode(tokenizer, [Turn("user", QUESTION)], None, True, template_for(model.config))
        embeds = torch.cat([features.tokens, model.embed_tokens(torch.tensor(ids, device=where))])[None]
    filler = tokenizer.convert_tokens_to_ids("a") if "a" in tokenizer.get_vocab() else 100
    decoder = model.decoder_for([features])  # the image rows get the image-only LoRA (GeoPixel)

    def decode(count: int, **options) -> object:
        script = LogitsProcessorList([bench.ScriptedAnswer(count, 0, model.config.seg_token_id, filler)])
        return generation.generate_batch(
            model, tokenizer, embeds, max_new_tokens=count, logits_processor=script, decoder=decoder, **options
        )

    prompt = embeds.shape[1]
    chunk = generation.DECODE_CHUNK
    capacity = -(-(prompt + args.tokens) // chunk) * chunk
    floor = float("nan")
    if where.type == "cuda":
        floor = bench.decode_bytes_per_token(model, prompt + args.tokens // 2) / bench.copy_bandwidth(where)
    device_name = torch.cuda.get_device_name(where) if where.type == "cuda" else bench._cpu_name()
    print(
        f"{args.config} ({model.parameter_counts()['total'] / 1e6:,.1f} M parameters, {args.dtype}) on {device_name}, "
        f"torch {torch.__version__}; {prompt} prompt positions, {args.tokens} tokens, median of {args.repeats}"
    )
    if floor == floor:
        print(f"memory-bandwidth floor per token: {floor * 1000:.2f} ms")
    print("| decoding step attention | ms per token |" + (" x floor |" if floor == floor else ""))
    print("|---|---:|" + ("---:|" if floor == floor else ""))
    for label, attention, piece in variants(args.pieces, capacity):
        with decoding_attention(attention, piece):
            seconds = bench._per_token_seconds(lambda n: decode(n, static_cache=True), args.tokens, args.repeats, where)
        ratio = f" {seconds / floor:.2f} |" if floor == floor else ""
        print(f"| {label} | {seconds * 1000:.2f} |{ratio}")
    if args.count_kernels:
        per_step, what = count_kernels(lambda n: decode(n, static_cache=False), args.tokens, where)
        print(f"dynamic-cache decoding step: {per_step:.0f} {what} per token")
    return 0


if __name__ == "__main__":
    sys.exit(main())
