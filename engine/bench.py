"""Per-stage CPU/GPU latency of a model preset on one synthetic image.

    python -m engine.bench model --config tiny --size 1024 --tokens 32
    python -m engine.bench params

Weights are random (a preset's architecture is what sets the cost); end-of-turn is suppressed so every run decodes
exactly ``--tokens`` tokens. Each stage reports the median of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from transformers.generation.logits_process import LogitsProcessorList, SuppressTokensLogitsProcessor

from .model import PRESETS, GeoGroundModel, build_tokenizer, encode, generate, preset_config
from .model.tiling import tile_image
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


def _median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.inference_mode()
def bench_model(config_name: str, size: int, tokens: int, repeats: int, device: str = "cpu") -> list[tuple[str, str]]:
    config = preset_config(config_name)
    torch.manual_seed(0)
    model = GeoGroundModel(config).eval().to(device)
    tokenizer = build_tokenizer(config)
    image = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    visual = model.visual

    tiled = tile_image(image, config.tile_size, config.hd_num, config.max_tiles)
    pixels = torch.cat([torch.from_numpy(tiled.global_view[None]), torch.from_numpy(tiled.tiles)])
    patches = visual.encode_tiles(pixels)
    image_tokens = visual.layout(visual.projector(patches), tiled.grid.rows, tiled.grid.cols)
    features = model.encode_image(image)
    ids, _ = encode(tokenizer, [Turn("user", "Segment all storage tanks in this image.")])
    embeds = torch.cat([image_tokens, model.embed_tokens(torch.tensor(ids, device=device))])[None]
    no_eos = LogitsProcessorList([SuppressTokensLogitsProcessor([config.eos_token_id], device=device)])
    state = torch.randn(1, config.llm_hidden_size, device=device)
    index = torch.zeros(1, dtype=torch.long, device=device)

    def decode(use_cache: bool) -> float:
        """Per-token cost: (time for ``tokens`` tokens - time for 1 token) / (tokens - 1), so prefill cancels."""

        def run(count: int) -> float:
            return _median_seconds(
                lambda: generate(
                    model, tokenizer, embeds, max_new_tokens=count, use_cache=use_cache, logits_processor=no_eos
                ),
                repeats,
            )

        return (run(tokens) - run(1)) / (tokens - 1)

    def masks() -> np.ndarray:
        prediction = model.seg_masks([features], state, index)
        return (prediction.logits_at(0, (size, size)) > 0).cpu().numpy()

    tiling = _median_seconds(lambda: tile_image(image, config.tile_size, config.hd_num, config.max_tiles), repeats)
    vision = _median_seconds(lambda: visual.encode_tiles(pixels), repeats)
    projector = _median_seconds(
        lambda: visual.layout(visual.projector(patches), tiled.grid.rows, tiled.grid.cols), repeats
    )
    grounding = _median_seconds(lambda: model.grounding(model.grounding.preprocess(image)), repeats)
    prefill = _median_seconds(lambda: model.decoder(inputs_embeds=embeds, use_cache=True), repeats)
    cached, uncached = decode(True), decode(False)
    mask_time = _median_seconds(masks, repeats)
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
    ]


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
