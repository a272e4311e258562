"""Per-stage CPU/GPU latency of a model preset on one synthetic image, and the cost of a whole grounded answer.

    python -m engine.bench model --config tiny --size 1024 --tokens 32
    python -m engine.bench answer --config geopixel-7b --device cuda --size 800 --tokens 200 --masks 4
    python -m engine.bench params

Weights are random (a preset's architecture is what sets the cost); end-of-turn is suppressed so every run decodes
exactly ``--tokens`` tokens. Each stage reports the median of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from transformers.generation.logits_process import LogitsProcessor, LogitsProcessorList, SuppressTokensLogitsProcessor

from .api import DevicePlan, Engine
from .model import PRESETS, GeoGroundModel, build_tokenizer, encode, generate, preset_config
from .model.generation import generate_batch
from .model.geoground.tiling import tile_image
from .types import Turn


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _median_seconds(
    run: Callable[[], object], repeats: int, device: torch.device | None = None, warm_up: bool = True
) -> float:
    """Median wall time of ``run`` after a warm-up; a CUDA device is synchronised before and after each run."""

    def synchronize() -> None:
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)

    if warm_up:
        run()
    times = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        run()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _per_token_seconds(decode: Callable[[int], object], tokens: int, repeats: int, device: torch.device) -> float:
    """Decoding cost per token: (time for ``tokens`` tokens - time for 1) / (tokens - 1), so the prefill cancels."""
    long = _median_seconds(lambda: decode(tokens), repeats, device)
    short = _median_seconds(lambda: decode(1), repeats, device)
    return (long - short) / (tokens - 1)


@torch.inference_mode()
def bench_model(config_name: str, size: int, tokens: int, repeats: int, device: str = "cpu") -> list[tuple[str, str]]:
    config = preset_config(config_name)
    torch.manual_seed(0)
    model = GeoGroundModel(config).eval().to(device)
    tokenizer = build_tokenizer(config)
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    visual = model.visual
    where = torch.device(device)

    tiled = tile_image(image, config.tile_size, config.hd_num, config.max_tiles)
    pixels = torch.cat([torch.from_numpy(tiled.global_view[None]), torch.from_numpy(tiled.tiles)])
    patches = visual.encode_tiles(pixels, model.backbone)
    image_tokens = visual.layout(visual.projector(patches), tiled.grid.rows, tiled.grid.cols)
    features = model.encode_image(image)
    ids, _ = encode(tokenizer, [Turn("user", "Segment all storage tanks in this image.")])
    embeds = torch.cat([image_tokens, model.embed_tokens(torch.tensor(ids, device=device))])[None]
    no_eos = LogitsProcessorList([SuppressTokensLogitsProcessor([config.eos_token_id], device=device)])
    state = torch.randn(1, config.llm_hidden_size, device=device)
    index = torch.zeros(1, dtype=torch.long, device=device)

    def decode(use_cache: bool) -> float:
        def run(count: int) -> object:
            return generate(
                model, tokenizer, embeds, max_new_tokens=count, use_cache=use_cache, logits_processor=no_eos
            )

        return _per_token_seconds(run, tokens, repeats, where)

    def masks() -> np.ndarray:
        prediction = model.seg_masks([features], state, index)
        return (prediction.logits_at(0, (size, size)) > 0).cpu().numpy()

    tiling = _median_seconds(
        lambda: tile_image(image, config.tile_size, config.hd_num, config.max_tiles), repeats, where
    )
    vision = _median_seconds(lambda: visual.encode_tiles(pixels, model.backbone), repeats, where)
    projector = _median_seconds(
        lambda: visual.layout(visual.projector(patches), tiled.grid.rows, tiled.grid.cols), repeats, where
    )
    square = model.grounding.preprocess(image)
    grounding = _median_seconds(lambda: model.grounding(square, model.backbone), repeats, where)
    prefill = _median_seconds(lambda: model.decoder_for(None)(inputs_embeds=embeds, use_cache=True), repeats, where)
    cached, uncached = decode(True), decode(False)
    mask_time = _median_seconds(masks, repeats, where)
    refiner_rows = []
    if model.mask_refiner is not None:  # timed alone too: it runs at the full grounding input size
        coarse = model.mask_predictor(features.grounding, state, index).low_res_logits
        refine = _median_seconds(lambda: model.mask_refiner(coarse, features.pixels), repeats, where)
        refiner_rows.append(("of which the mask refiner", f"{refine * 1000:.1f} ms"))
    image_len, prompt_len = image_tokens.shape[0], embeds.shape[1] - image_tokens.shape[0]
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731
    return [
        ("parameters", f"{model.parameter_counts()['total'] / 1e6:.1f} M"),
        (
            "tile grid / image tokens / prompt tokens",
            f"{tiled.grid.rows}x{tiled.grid.cols} / {image_len} / {prompt_len}",
        ),
        ("tiling", ms(tiling)),
        ("vision encoder", ms(vision)),
        ("projector + layout", ms(projector)),
        ("grounding features", ms(grounding)),
        ("prefill", ms(prefill)),
        ("decode per token, KV cache", f"{ms(cached)} ({1 / cached:.0f} tok/s)"),
        ("decode per token, no cache", f"{ms(uncached)} ({1 / uncached:.0f} tok/s)"),
        ("mask decoding (1 mask, to full size)", ms(mask_time)),
        *refiner_rows,
    ]


class ScriptedAnswer(LogitsProcessor):
    """Makes a random model write ``tokens`` tokens with ``masks`` [SEG] tokens spread evenly and no end of turn.

    Every other step emits ``filler``; the full vocabulary is still scored at every step, as in a real answer.
    """

    def __init__(self, tokens: int, masks: int, seg: int, filler: int) -> None:
        self.plan = {round((n + 1) * tokens / (masks + 1)): seg for n in range(masks)}
        self.filler = filler

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        forced = torch.full_like(scores, float("-inf"))
        forced[:, self.plan.get(input_ids.shape[1], self.filler)] = 0.0
        return forced


def copy_bandwidth(device: torch.device, gib: float = 2.0) -> float:
    """Bytes per second of a large device-to-device copy, counting bytes read plus bytes written."""
    source = torch.randn(int(gib * 2**30) // 2, dtype=torch.bfloat16, device=device)
    target = torch.empty_like(source)
    seconds = _median_seconds(lambda: target.copy_(source), 10, device)
    return 2 * source.numel() * source.element_size() / seconds


def decode_bytes_per_token(model: GeoGroundModel, context: int) -> int:
    """The fewest bytes one decoding step must read: the LLM's weights (not the input embedding table, of which it
    reads one row, nor the image-only LoRA, unused on text) and the keys and values of ``context`` positions."""
    llm = model.llm
    table = llm.get_input_embeddings().weight
    tied = table is llm.get_output_embeddings().weight
    weights = sum(
        p.numel() * p.element_size()
        for name, p in llm.named_parameters()
        if "Plora_" not in name and (tied or p is not table)
    )
    config = llm.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    kv = 2 * config.num_hidden_layers * config.num_key_value_heads * head_dim * context * table.element_size()
    return weights + kv


def random_model(config_name: str, device: torch.device, dtype: torch.dtype) -> GeoGroundModel:
    """A preset with random weights built directly on ``device`` in ``dtype`` (a 7B layout never exists in fp32)."""
    config = preset_config(config_name)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            torch.manual_seed(0)
            model = GeoGroundModel(config).eval()
    finally:
        torch.set_default_dtype(previous)
    return model


@torch.inference_mode()
def bench_answer(
    config_name: str,
    size: int,
    tokens: int,
    masks: int,
    repeats: int,
    device: str = "cpu",
    dtype: str = "bfloat16",
    no_cache_tokens: int = 8,
    reference_answer: bool = True,
    results: dict | None = None,
) -> dict[str, float | int | str]:
    """Time to first token, decoding cost per token in four ways, and a whole grounded answer with masks.

    Decoding ways: the default (a static cache replayed as a CUDA graph on CUDA), the dynamic cache run eagerly,
    and full recompute without a cache (the reference GeoPixel's decoding) with our attention and with the eager
    attention the reference uses. The answer writes ``tokens`` tokens with ``masks`` [SEG] tokens and turns them
    into full-size masks; it is timed with our default decoding and, once, with the reference's decoding.
    Measurements go into ``results`` (a new dict by default) as they are made, so a failure keeps the earlier ones.
    """
    where = torch.device(device)
    precision = getattr(torch, dtype)
    model = random_model(config_name, where, precision)
    config = model.config
    tokenizer = build_tokenizer(config)
    engine = Engine.from_model(model, tokenizer, DevicePlan(where, precision), config_name)
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    question = "Can you provide a detailed description of this image with grounded masks?"
    filler = tokenizer.convert_tokens_to_ids("a") if "a" in tokenizer.get_vocab() else 100

    def conversation():
        chat = engine.new_conversation(image)
        chat.turns.append(Turn("user", question))
        return chat

    def decode(chat, embeds: torch.Tensor, count: int, **options):
        script = LogitsProcessorList([ScriptedAnswer(count, masks, config.seg_token_id, filler)])
        decoder = model.decoder_for([chat.features])
        options |= {"max_new_tokens": count, "logits_processor": script, "decoder": decoder}
        return generate_batch(model, tokenizer, embeds, **options)[0]

    def first_token() -> None:
        chat = conversation()
        decode(chat, engine._prompt(chat)[None], 1)

    def answer(**options) -> int:
        chat = conversation()
        result = decode(chat, engine._prompt(chat)[None], tokens, **options)
        _, segments = engine.family.segments(chat, result, engine.settings)
        return len(segments)

    def set_attention(name: str) -> str:
        previous = model.llm.config._attn_implementation
        model.llm.config._attn_implementation = name
        return previous

    fixed = conversation()
    embeds = engine._prompt(fixed)[None]
    prompt_len = embeds.shape[1]

    def per_token(count: int, **options) -> float:
        return _per_token_seconds(lambda n: decode(fixed, embeds, n, **options), count, repeats, where)

    bandwidth = copy_bandwidth(where) if where.type == "cuda" else float("nan")
    results = {} if results is None else results
    results |= {
        "config": config_name,
        "device": torch.cuda.get_device_name(where) if where.type == "cuda" else _cpu_name(),
        "torch": torch.__version__,
        "dtype": dtype,
        "parameters": model.parameter_counts()["total"],
        "image": f"{size}x{size}",
        "prompt_tokens": prompt_len,
        "answer_tokens": tokens,
        "masks": masks,
    }
    results["image_encoding_s"] = _median_seconds(lambda: model.encode_image(image), repeats, where)
    results["time_to_first_token_s"] = _median_seconds(first_token, repeats, where)
    results["decode_s_per_token"] = per_token(tokens)
    results["decode_dynamic_cache_s_per_token"] = per_token(tokens, static_cache=False)
    results["decode_no_cache_s_per_token"] = per_token(no_cache_tokens, use_cache=False)
    previous = set_attention("eager")
    try:
        results["decode_no_cache_eager_s_per_token"] = per_token(no_cache_tokens, use_cache=False)
    finally:
        set_attention(previous)
    context = prompt_len + tokens // 2
    results["bytes_per_token"] = decode_bytes_per_token(model, context)
    results["copy_bandwidth_bytes_per_s"] = bandwidth
    results["bandwidth_floor_s_per_token"] = results["bytes_per_token"] / bandwidth
    results["answer_s"] = _median_seconds(answer, repeats, where)
    results["answer_masks"] = answer()
    if reference_answer:
        previous = set_attention("eager")
        try:
            results["answer_reference_decoding_s"] = _median_seconds(
                lambda: answer(use_cache=False), 1, where, warm_up=False
            )
        finally:
            set_attention(previous)
    if where.type == "cuda":
        results["peak_gpu_memory_bytes"] = torch.cuda.max_memory_allocated(where)
    return results


def answer_table(results: dict) -> str:
    """The headline rows of :func:`bench_answer`'s results as a Markdown table."""
    ms = lambda seconds: f"{seconds * 1000:.1f} ms"  # noqa: E731
    floor = results["bandwidth_floor_s_per_token"]
    rows = [
        ("image encoding (tiling, CLIP, projector, grounding encoder)", ms(results["image_encoding_s"])),
        ("time to first token (image in, prefill, first token)", ms(results["time_to_first_token_s"])),
        (
            "decode per token, ours",
            f"{ms(results['decode_s_per_token'])} ({1 / results['decode_s_per_token']:.1f} tok/s)",
        ),
        ("decode per token, dynamic cache (eager)", ms(results["decode_dynamic_cache_s_per_token"])),
        ("decode per token, no cache", ms(results["decode_no_cache_s_per_token"])),
        ("decode per token, no cache, eager attention (reference)", ms(results["decode_no_cache_eager_s_per_token"])),
    ]
    if floor == floor:  # not NaN: measured on a GPU
        rows.append(("memory-bandwidth floor per token", f"{ms(floor)} ({results['decode_s_per_token'] / floor:.2f}x)"))
    answer = f"{results['answer_tokens']} tokens, {results['answer_masks']} masks"
    rows.append((f"grounded answer ({answer}), ours", f"{results['answer_s']:.2f} s"))
    if "answer_reference_decoding_s" in results:
        reference = results["answer_reference_decoding_s"]
        rows.append((f"grounded answer ({answer}), reference decoding", f"{reference:.2f} s"))
        rows.append(("speed-up of the whole answer", f"{reference / results['answer_s']:.1f}x"))
    rows.append(
        (
            "speed-up per decoded token vs reference",
            f"{results['decode_no_cache_eager_s_per_token'] / results['decode_s_per_token']:.1f}x",
        )
    )
    return "\n".join(["| measure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    model = commands.add_parser("model", help="per-stage latency of a model preset")
    model.add_argument("--config", default="tiny", help="preset name: tiny, demo, ...")
    model.add_argument("--size", type=int, default=1024, help="square image side in pixels")
    model.add_argument("--tokens", type=int, default=32, help="tokens to decode")
    model.add_argument("--repeats", type=int, default=3)
    model.add_argument("--device", default="cpu")
    model.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    answer = commands.add_parser("answer", help="time to first token, decoding and a whole grounded answer")
    answer.add_argument("--config", default="tiny", help="preset name: tiny, demo, geopixel-7b, ...")
    answer.add_argument("--size", type=int, default=800, help="square image side in pixels")
    answer.add_argument("--tokens", type=int, default=200, help="tokens in the answer")
    answer.add_argument("--masks", type=int, default=4, help="[SEG] tokens (masks) in the answer")
    answer.add_argument("--repeats", type=int, default=3)
    answer.add_argument("--device", default="cpu")
    answer.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    answer.add_argument("--no-cache-tokens", type=int, default=8, help="tokens per no-cache decoding measurement")
    answer.add_argument("--skip-reference-answer", action="store_true", help="skip the slow no-cache answer")
    answer.add_argument("--json", help="also write all measurements to this JSON file")
    params = commands.add_parser("params", help="parameter counts per part (built on the meta device)")
    params.add_argument("--config", action="append", help="preset name (repeatable; default: all presets)")
    args = parser.parse_args(argv)
    if args.command == "params":
        for name in args.config or list(PRESETS):
            with torch.device("meta"):
                counts = GeoGroundModel(preset_config(name)).parameter_counts()
            print(name, ", ".join(f"{part} {value / 1e6:,.2f} M" for part, value in counts.items()))
        return 0
    if args.tokens < 2:
        parser.error("--tokens must be at least 2")
    if args.command == "answer":
        if args.no_cache_tokens < 2 or not 0 <= args.masks < args.tokens:
            parser.error("--no-cache-tokens must be at least 2 and --masks fewer than --tokens")
        options = (args.repeats, args.device, args.dtype, args.no_cache_tokens, not args.skip_reference_answer)
        results: dict = {}
        try:
            bench_answer(args.config, args.size, args.tokens, args.masks, *options, results=results)
        finally:
            if args.json:
                with open(args.json, "w", encoding="utf-8") as out:
                    json.dump(results, out, indent=2)
            print(json.dumps(results))
        print(answer_table(results))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = bench_model(args.config, args.size, args.tokens, args.repeats, args.device)
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else _cpu_name()
    print(
        f"config {args.config}, {args.size}x{args.size} image, {args.tokens} tokens, {device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print("| stage | time |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
