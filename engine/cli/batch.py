"""One instruction over many rasters (or the strips of one huge raster), sharded over processes, merged into one
GeoPackage.

    python -m engine batch a.tif b.tif c.tif -o out/ "segment all storage tanks"
    torchrun --nproc_per_node 4 -m engine batch tiles/*.tif -o out/ "segment all buildings" --whole

Launched by ``torchrun``, each rank (``RANK`` of ``WORLD_SIZE``) takes every WORLD_SIZE-th job and writes each job's
result as its own small GeoPackage plus a JSON record under ``OUT_DIR/batch-parts``. After a barrier (torch.distributed
with the gloo backend, which needs no GPU) rank 0 merges the parts into ``OUT_DIR/batch.gpkg``: one polygon layer per
CRS with a ``source`` column, and the conversation table. Writing parts to disk keeps the ranks independent (no
tensors to gather, nothing held in memory) and leaves every finished job on disk if another one crashes.

With ``--whole`` and fewer rasters than ranks, each raster is cut into horizontal strips so every rank has work; an
object cut by a strip border comes out as two polygons sharing an edge along the cut, which the merge joins again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from .common import (
    EXIT_ENGINE,
    EXIT_OK,
    EXIT_USER,
    EngineFactory,
    ProgressBar,
    UserError,
    add_model_arguments,
    add_token_argument,
    add_whole_arguments,
    load_checked,
    print_warnings,
    raster_options,
    run_stoppable,
)

OUTPUT_NAME = "batch.gpkg"
PARTS_FOLDER = "batch-parts"
# How long rank 0 waits at the barrier for the slowest rank; long shards of big rasters take hours.
BARRIER_TIMEOUT = timedelta(days=2)


@dataclass(frozen=True)
class Job:
    """One unit of work: a raster, or a horizontal strip of it (pixel window col_off, row_off, width, height)."""

    index: int
    raster: str
    window: tuple[int, int, int, int] | None = None

    @property
    def name(self) -> str:
        return f"{self.index:06d}"


@dataclass(frozen=True)
class Ranks:
    """This process's place among the processes torchrun started (0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @classmethod
    def from_environment(cls) -> Ranks:
        try:
            rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
            local = int(os.environ.get("LOCAL_RANK", rank))
        except ValueError as exc:
            raise UserError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers: {exc}") from None
        if world < 1 or not 0 <= rank < world:
            raise UserError(f"RANK {rank} is not within WORLD_SIZE {world}")
        return cls(rank, world, local)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = "%(prog)s RASTER [RASTER ...] -o OUT_DIR INSTRUCTION [options]"
    parser.add_argument(
        "items", nargs="+", metavar="RASTER ... INSTRUCTION",
        help='raster files GDAL can read, then what to find, e.g. "segment all storage tanks" (last)',
    )  # fmt: skip
    parser.set_defaults(trailing_positionals="items")
    parser.add_argument("-o", "--out-dir", required=True, metavar="OUT_DIR", help=f"folder for {OUTPUT_NAME}")
    add_model_arguments(parser)
    add_whole_arguments(parser)
    add_token_argument(parser)
    parser.add_argument(
        "--strips", type=int, help="cut each raster into this many horizontal strips (--whole only; default: as many "
        "as ranks when there are fewer rasters than ranks, else 1)"
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help=f"replace an existing OUT_DIR/{OUTPUT_NAME}")
    parser.add_argument("--keep-parts", action="store_true", help="keep the per-job parts after merging")
    parser.add_argument(
        "--engine-factory",
        metavar="MODULE:FUNCTION",
        help="build the model with FUNCTION(model, device) from an importable module instead of loading --model",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, engine_factory: EngineFactory) -> int:
    from ..hub.limits import check_instruction

    if len(args.items) < 2:
        raise UserError("give one or more rasters, then the instruction")
    args.rasters, args.instruction = args.items[:-1], args.items[-1]
    args.instruction = check_instruction(args.instruction, args.model)  # before any slow work
    ranks = Ranks.from_environment()
    out_dir = Path(args.out_dir)
    output = out_dir / OUTPUT_NAME
    if output.exists() and not args.overwrite:
        raise UserError(f"{output} already exists: pass --overwrite to replace it")
    missing = [r for r in args.rasters if not os.path.isfile(r)]
    if missing:
        raise UserError(f"raster not found: {missing[0]}" + (f" (and {len(missing) - 1} more)" if missing[1:] else ""))
    if args.engine_factory:
        engine_factory = import_factory(args.engine_factory)
    jobs = plan_jobs(args.rasters, strips=_strip_count(args, ranks))
    parts = out_dir / PARTS_FOLDER
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {parts}: {exc.strerror or exc}") from None

    group = _ProcessGroup(ranks)
    try:
        mine = jobs[ranks.rank :: ranks.world]
        if mine:
            device = _device_for(args.device, ranks)
            engine = load_checked(engine_factory, args.model, device)
            run_shard(mine, args, engine, parts, show_progress=not args.quiet and ranks.rank == 0)
        group.barrier()
        if ranks.rank != 0:
            return _exit_code([read_record(parts, job) for job in mine])
        records = [read_record(parts, job) for job in jobs]
        merged = merge_parts(records, parts, output, args.instruction)
        if not args.keep_parts:
            shutil.rmtree(parts, ignore_errors=True)
    finally:
        group.close()
    _print_report(records, merged, output, ranks)
    return _exit_code(records)


def plan_jobs(rasters: Sequence[str], strips: int = 1) -> list[Job]:
    """Jobs in a fixed order (the same in every rank): each raster, or each of its ``strips`` horizontal strips."""
    if strips < 1:
        raise UserError(f"--strips must be at least 1, got {strips}")
    if strips == 1:
        return [Job(n, os.fspath(r)) for n, r in enumerate(rasters)]
    from ..geo.raster import open_raster

    jobs: list[Job] = []
    for raster in rasters:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the CRS warning comes when the strip is processed
            with open_raster(raster) as dataset:
                width, height = dataset.width, dataset.height
        count = min(strips, height)
        edges = [round(k * height / count) for k in range(count + 1)]
        for top, bottom in zip(edges[:-1], edges[1:]):
            jobs.append(Job(len(jobs), os.fspath(raster), (0, top, width, bottom - top)))
    return jobs


def run_shard(jobs: Sequence[Job], args: argparse.Namespace, engine: Any, parts: Path, show_progress: bool) -> None:
    """Segment each job and write its part; a job that fails is recorded with its error and the others go on."""
    from ..geo import write_result
    from ..geo.errors import EngineError
    from ..geo.pipeline import segment_raster

    progress = ProgressBar(unit="job", total=len(jobs)) if show_progress else None
    try:
        for job in jobs:
            record_path, part_path = parts / f"{job.name}.json", parts / f"{job.name}.gpkg"
            record_path.unlink(missing_ok=True)  # a record left by an earlier run must not pass for this one
            record: dict[str, Any] = {"job": asdict(job), "instruction": args.instruction, "status": "ok"}
            start = time.perf_counter()
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    result = run_stoppable(
                        lambda should_stop, job=job: segment_raster(
                            job.raster,
                            args.instruction,
                            engine,
                            window=job.window,
                            should_stop=should_stop,
                            **raster_options(args),
                        )
                    )
                print_warnings(caught)
                write_result(result, part_path, overwrite=True, layer="features")
                record |= {
                    "features": len(result.features),
                    "crs_wkt": result.crs_wkt,
                    "reply": result.reply_text,
                    "model": result.model,
                    "created": result.created,
                    "pixels": int(result.region[2]) * int(result.region[3]),
                }
            except EngineError as exc:
                record |= {"status": "engine error", "error": str(exc)}
            except ValueError as exc:
                record |= {"status": "user error", "error": str(exc)}
            record["seconds"] = round(time.perf_counter() - start, 3)
            if record["status"] != "ok":
                print(f"error: {job.raster}: {record['error']}", flush=True)
            record_path.write_text(json.dumps(record), encoding="utf-8")
            if progress is not None:
                progress.step()
    finally:
        if progress is not None:
            progress.close()


def read_record(parts: Path, job: Job) -> dict[str, Any]:
    """The record a rank wrote for ``job``; a missing or foreign record means that job did not run."""
    from ..geo.errors import EngineError

    path = parts / f"{job.name}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise EngineError(f"job {job.index} ({job.raster}) left no result in {parts}") from None
    if record.get("job") != json.loads(json.dumps(asdict(job))):
        raise EngineError(f"{path} belongs to another batch run")
    return record


@dataclass
class MergedLayer:
    name: str
    crs_wkt: str | None
    features: int


def merge_parts(records: list[dict[str, Any]], parts: Path, output: Path, instruction: str) -> list[MergedLayer]:
    """Write the features of all successful jobs to ``output``: one layer per CRS, strips of a raster joined again.

    Nothing is written when no job succeeded.
    """
    from ..geo.gpkg import CONVERSATION_TABLE, Table, VectorLayer, unique_layer_name, write_geopackage
    from ..geo.measure import Measurer, to_crs

    groups: list[tuple[Any, str | None, list[dict[str, Any]]]] = []  # (pyproj CRS, WKT, records), by equal CRS
    for record in records:
        if record["status"] != "ok":
            continue
        crs = to_crs(record["crs_wkt"])
        for group_crs, _, members in groups:
            if group_crs == crs:
                members.append(record)
                break
        else:
            groups.append((crs, record["crs_wkt"], [record]))
    if not groups:
        return []

    base = unique_layer_name(instruction, [])
    layers: list[VectorLayer] = []
    turns: list[tuple[str, str, str, str, str]] = []  # role, text, created, layer, source
    for crs, crs_wkt, members in groups:
        name = unique_layer_name(base if len(groups) == 1 else f"{base}_{_crs_tag(crs)}", [v.name for v in layers])
        geometries, columns, jobs = _read_parts(parts, members)
        keep, joined = join_strips(geometries, columns["source"], columns["phrase"], jobs, _windowed(members))
        columns = {key: values[keep] for key, values in columns.items()}
        geometries = list(geometries[keep])
        measurer = Measurer(crs_wkt)
        for position, group in joined.items():
            geometries[position] = shapely.union_all(group)
            columns["area_m2"][position], columns["perimeter_m"][position] = measurer.area_perimeter(
                geometries[position]
            )
        layers.append(VectorLayer(name, geometries, columns, crs_wkt))
        answered: set[str] = set()
        for record in members:
            source = record["job"]["raster"]
            if source not in answered:  # strips of one raster: one question and one answer for the raster
                answered.add(source)
                turns += [(role, text, record["created"], name, source) for role, text in
                          (("user", instruction), ("assistant", record["reply"]))]  # fmt: skip
    table = Table(
        CONVERSATION_TABLE,
        {
            "turn": np.arange(len(turns), dtype=np.int64),
            **{key: np.array([t[k] for t in turns], dtype=object)
               for k, key in enumerate(("role", "text", "created", "layer", "source"))},
        },
    )  # fmt: skip
    write_geopackage(output, layers, [table], overwrite=True)
    return [MergedLayer(layer.name, layer.crs_wkt, len(layer.geometries)) for layer in layers]


def join_strips(
    geometries: np.ndarray, sources: np.ndarray, phrases: np.ndarray, jobs: np.ndarray, windowed: set[int]
) -> tuple[np.ndarray, dict[int, list]]:
    """Find the polygons that a strip border cut in two: same source and phrase, from different strips, sharing a
    stretch of boundary (a touching corner is not enough).

    Returns the indices of the features to keep (one per joined group, the first) and, by position in that kept
    list, the geometries to union for each group that was joined.
    """
    count = len(geometries)
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if windowed and count:
        tree = shapely.STRtree(geometries)
        for i, j in zip(*tree.query(geometries, predicate="intersects").tolist()):
            if i >= j or jobs[i] == jobs[j] or jobs[i] not in windowed or jobs[j] not in windowed:
                continue
            if sources[i] == sources[j] and phrases[i] == phrases[j]:
                if geometries[i].intersection(geometries[j]).length > 0:
                    parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    keep = np.array(sorted(groups), dtype=np.int64)
    joined = {position: [geometries[i] for i in groups[first]] for position, first in enumerate(keep)
              if len(groups[first]) > 1}  # fmt: skip
    return keep, joined


def _read_parts(parts: Path, records: list[dict[str, Any]]) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Geometries, attribute columns (plus ``source``) and the job of each feature, over the parts of ``records``."""
    from pyogrio.raw import read

    geometries, jobs = [], []
    columns: dict[str, list[np.ndarray]] = {}
    for record in records:
        meta, _, wkb, values = read(os.fspath(parts / f"{record['job']['index']:06d}.gpkg"), layer="features")[:4]
        shapes = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
        geometries.append(shapes)
        jobs.append(np.full(len(shapes), record["job"]["index"], dtype=np.int64))
        for name, value in zip(meta["fields"], values):
            columns.setdefault(str(name), []).append(np.asarray(value))
        columns.setdefault("source", []).append(np.array([record["job"]["raster"]] * len(shapes), dtype=object))
    merged = {name: np.concatenate(arrays) for name, arrays in columns.items()}
    return np.concatenate(geometries), merged, np.concatenate(jobs)


def _windowed(records: list[dict[str, Any]]) -> set[int]:
    return {r["job"]["index"] for r in records if r["job"]["window"] is not None}


def import_factory(spec: str) -> EngineFactory:
    """``module:function`` -> the function (called as ``function(model, device)``)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise UserError(f"--engine-factory takes MODULE:FUNCTION, got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot import {spec}: {exc}") from None
    if not callable(factory):
        raise UserError(f"{spec} is not callable")
    return factory


class _ProcessGroup:
    """torch.distributed over gloo when torchrun started several processes; nothing at all for one process."""

    def __init__(self, ranks: Ranks) -> None:
        self.active = ranks.world > 1
        if self.active:
            import torch.distributed as dist

            if not dist.is_initialized():
                dist.init_process_group("gloo", rank=ranks.rank, world_size=ranks.world, timeout=BARRIER_TIMEOUT)

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        if self.active:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.active = False


def _strip_count(args: argparse.Namespace, ranks: Ranks) -> int:
    if args.strips is not None:
        if not args.whole and args.strips != 1:
            raise UserError("--strips needs --whole (strips of a decimated view would not line up)")
        return args.strips
    if args.whole and len(args.rasters) < ranks.world:
        return ranks.world
    return 1


def _device_for(device: str, ranks: Ranks) -> str:
    """One GPU per local rank when CUDA is used by several processes on a machine."""
    if ranks.world == 1 or device == "cpu":
        return device
    import torch

    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return f"cuda:{ranks.local}"
    return device


def _crs_tag(crs: Any) -> str:
    if crs is None:
        return "pixels"
    epsg = crs.to_epsg()
    return f"epsg{epsg}" if epsg else "crs"


def _exit_code(records: list[dict[str, Any]]) -> int:
    statuses = {r["status"] for r in records}
    if "engine error" in statuses:
        return EXIT_ENGINE
    if "user error" in statuses:
        return EXIT_USER
    return EXIT_OK


def _print_report(records: list[dict[str, Any]], layers: list[MergedLayer], output: Path, ranks: Ranks) -> None:
    done = [r for r in records if r["status"] == "ok"]
    failed = len(records) - len(done)
    features = sum(layer.features for layer in layers)
    sources = len({r["job"]["raster"] for r in done})
    print(f"{features} object(s) from {sources} raster(s) -> {output} ({ranks.world} process(es))")
    for layer in layers:
        print(f"  layer {layer.name}: {layer.features}")
    if failed:
        print(f"{failed} job(s) failed; see the errors above")
