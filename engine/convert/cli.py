"""``convert``: turn a published checkpoint folder into a GeoGround model folder.

    python -m engine convert geopixel path/to/GeoPixel-7B path/to/geopixel-7b
    python -m engine convert geopixel path/to/GeoPixel-7B out --tokenizer path/to/internlm-xcomposer2d5-7b
    python -m engine convert geopix path/to/GeoPix-ft-sior_rsicap path/to/geopix

The source is read with ``torch.load(weights_only=True)`` only; the result is safetensors plus a key report. A
GeoPixel conversion also turns InternLM2's SentencePiece ``tokenizer.model`` into ``tokenizer.json``, so the folder
runs with ``Engine.load``; ``--tokenizer`` names the folder holding it when the checkpoint folder has none.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .geopix import convert_geopix
from .geopixel import REPORT_FILE, convert_geopixel
from .report import ConversionError

_DTYPES = {"keep": None, "bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
CONVERTERS = {"geopixel": convert_geopixel, "geopix": convert_geopix}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(CONVERTERS), help="published layout of the source folder")
    parser.add_argument("source", type=Path, help="checkpoint folder exactly as published")
    parser.add_argument("output", type=Path, help="new model folder to write")
    parser.add_argument("--dtype", choices=sorted(_DTYPES), default="keep", help="weight type to write")
    parser.add_argument(
        "--overrides", type=Path, help="JSON file of model config values to use instead of the derived ones"
    )
    parser.add_argument(
        "--tokenizer",
        type=Path,
        help="geopixel: folder holding InternLM2's tokenizer.model when the source folder has none "
        "(e.g. internlm/internlm-xcomposer2d5-7b)",
    )


def run(args: argparse.Namespace) -> int:
    overrides = None
    if args.overrides is not None:
        try:
            overrides = json.loads(args.overrides.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            print(f"error: cannot read --overrides {args.overrides}: {error}", file=sys.stderr)
            return 2
    options = {}
    if args.tokenizer is not None:
        if args.kind != "geopixel":
            print(f"error: --tokenizer applies to geopixel conversions, not {args.kind}", file=sys.stderr)
            return 2
        options["tokenizer"] = args.tokenizer
    if args.output.exists() and any(args.output.iterdir()):
        print(f"error: {args.output} exists and is not empty; choose a new folder", file=sys.stderr)
        return 2
    try:
        report = CONVERTERS[args.kind](
            args.source, args.output, dtype=_DTYPES[args.dtype], overrides=overrides, log=print, **options
        )
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.summary())
    print(f"wrote {args.output} (key report in {args.output / REPORT_FILE})")
    return 0
