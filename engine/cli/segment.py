"""``python -m engine segment RASTER INSTRUCTION -o OUT.gpkg``: one answer over a raster, as polygons."""

from __future__ import annotations

import argparse
import warnings

from .common import (
    EXIT_OK,
    EngineFactory,
    ProgressBar,
    add_area_arguments,
    add_model_arguments,
    add_token_argument,
    add_whole_arguments,
    load_checked,
    print_summary,
    print_warnings,
    raster_options,
    run_stoppable,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raster", help="raster file GDAL can read (GeoTIFF, COG, JP2, VRT...)")
    parser.add_argument("instruction", help='what to find, e.g. "segment all storage tanks"')
    parser.add_argument("-o", "--output", required=True, metavar="OUT.gpkg", help="GeoPackage to write")
    add_model_arguments(parser)
    add_area_arguments(parser)
    add_whole_arguments(parser)
    add_token_argument(parser)
    parser.add_argument(
        "--examples",
        metavar="FILE",
        help="find everything like these examples instead of answering the instruction: a vector file of polygons "
        "or points on objects, in any CRS (pixel coordinates, x right and y down, for a raster without one)",
    )
    parser.add_argument(
        "--examples-raster",
        metavar="RASTER",
        help="the raster the --examples lie on, when not the one searched (similar imagery; read at the same ground "
        "pixel size)",
    )
    parser.add_argument(
        "--example-phrase", default="object", help="what the objects found like --examples are called (default: object)"
    )
    parser.add_argument("--preview", metavar="PNG", help="also write a PNG with the polygons over the image")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--append", action="store_true", help="add a layer to an existing GeoPackage")
    output.add_argument("--overwrite", action="store_true", help="replace an existing GeoPackage")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    from ..geo import write_result
    from ..geo.gpkg import check_destination
    from ..geo.pipeline import segment_raster
    from ..geo.preview import write_preview
    from ..hub.limits import check_instruction

    check_destination(args.output, append=args.append, overwrite=args.overwrite)  # before any slow work
    args.instruction = check_instruction(args.instruction, args.model)
    engine = load_checked(engine_factory, args.model, args.device)
    examples = None
    if args.examples_raster and not args.examples:
        raise ValueError("--examples-raster names the raster of the --examples: give --examples too")
    if args.examples:
        from ..geo.examples import read_examples
        from ..geo.raster import open_raster

        with open_raster(args.examples_raster or args.raster) as dataset:
            crs = dataset.crs.to_wkt() if dataset.crs is not None else None
        examples = read_examples(args.examples, crs)
        if not getattr(engine, "takes_examples", False):  # before reading any tile
            from ..model.family import ExamplesNotSupportedError

            raise ExamplesNotSupportedError(f"the model {args.model} takes text prompts only, not --examples")
    progress = None if args.quiet else ProgressBar()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_stoppable(
                lambda should_stop: segment_raster(
                    args.raster,
                    args.instruction,
                    engine,
                    window=args.window,
                    bbox=args.bbox,
                    on_progress=progress,
                    should_stop=should_stop,
                    examples=examples,
                    example_phrase=args.example_phrase,
                    examples_from=args.examples_raster,
                    **raster_options(args),
                )
            )
    finally:
        if progress is not None:
            progress.close()
    print_warnings(caught)
    layer = write_result(result, args.output, append=args.append, overwrite=args.overwrite)
    if args.preview:
        write_preview(result, args.preview)
    print_summary(result, args.output, layer)
    return EXIT_OK
