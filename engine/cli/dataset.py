"""``python -m engine dataset RASTER VECTOR -o DIR (--class-field F | --class NAME)``: a training set from layers."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, EngineFactory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("raster", help="raster file GDAL can read (GeoTIFF, COG, JP2, VRT...)")
    parser.add_argument("vector", help="polygon file OGR can read (GeoPackage, Shapefile, GeoJSON...)")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="dataset folder to create (new or empty)")
    classes = parser.add_mutually_exclusive_group(required=True)
    classes.add_argument("--class-field", metavar="FIELD", help="text field whose values are the class names")
    classes.add_argument("--class", dest="class_name", metavar="NAME", help="one class name for every polygon")
    parser.add_argument("--chip", type=int, default=512, metavar="N", help="chip side in pixels (default 512)")
    parser.add_argument("--overlap", type=int, default=64, metavar="N", help="chip overlap in pixels (default 64)")
    parser.add_argument(
        "--area",
        type=float,
        nargs=4,
        metavar=("MINX", "MINY", "MAXX", "MAXY"),
        help="only this extent, in the raster's CRS (pixels for a raster without one)",
    )
    parser.add_argument("--min-pixels", type=int, default=16, metavar="N", help="smallest instance kept (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample wording (default 0)")


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    """Build the folder and print its summary; bad input raises a DataFormatError (one ``error:`` line, exit 2)."""
    from ..data.layer_dataset import build_dataset

    report = build_dataset(
        args.raster,
        args.vector,
        args.output,
        class_field=args.class_field,
        class_name=args.class_name,
        chip=args.chip,
        overlap=args.overlap,
        area=tuple(args.area) if args.area else None,
        min_pixels=args.min_pixels,
        seed=args.seed,
    )
    print(report.text())
    return EXIT_OK
