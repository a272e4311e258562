"""python -m engine segment: outputs, summary, preview and exit codes (model injected, plus one real tiny run)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pyogrio
import pytest
import rasterio
from pyproj import CRS

from engine import cli

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import UTM, ThresholdDouble, disc_image, write_raster  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def raster(tmp_path):
    return write_raster(tmp_path / "scene.tif", disc_image(120, 160, [(40, 40, 15), (120, 80, 20)]))


class CappedThreshold(ThresholdDouble):
    """The threshold double, recording the token limit the command passes."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[int] = []

    def chat(self, image, conversation, max_new_tokens=256):
        self.limits.append(max_new_tokens)
        return super().chat(image, conversation)


def _double(model, device):
    return CappedThreshold()


def test_segment_writes_gpkg_preview_and_summary(raster, tmp_path, capsys):
    out, png = tmp_path / "out.gpkg", tmp_path / "preview.png"
    code = cli.main(
        ["segment", str(raster), "find discs", "-o", str(out), "--preview", str(png), "--whole", "--tile-size", "64",
         "--overlap", "16", "--quiet"],
        engine_factory=_double,
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    assert "2 object(s)" in captured.out and "disc: 2" in captured.out and "total area" in captured.out
    assert captured.err == ""  # --quiet: no progress bar
    assert pyogrio.read_info(out, layer="find_discs")["features"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # a PNG has no georeferencing
        preview = rasterio.open(png)
    with preview:
        assert preview.driver == "PNG" and preview.count == 3 and (preview.height, preview.width) == (120, 160)
        image = preview.read()
    assert (image[:, 40, 40] != image[:, 5, 5]).any()  # the disc is coloured, the background is not


def test_window_bbox_and_append(raster, tmp_path, capsys):
    out = tmp_path / "out.gpkg"
    assert cli.main(["segment", str(raster), "discs", "-o", str(out), "--window", "0", "0", "80", "80", "--quiet"],
                    engine_factory=_double) == 0  # fmt: skip
    assert "1 object(s)" in capsys.readouterr().out
    with rasterio.open(raster) as dataset:
        left, bottom, right, top = dataset.bounds
    bbox = [str(v) for v in (left + 40, bottom, right, top)]
    assert cli.main(["segment", str(raster), "discs", "-o", str(out), "--bbox", *bbox, "--append", "--quiet"],
                    engine_factory=_double) == 0  # fmt: skip
    assert set(pyogrio.list_layers(out)[:, 0]) == {"discs", "discs_2", "conversation"}


@pytest.mark.parametrize(
    "args",
    [
        ["segment", "missing.tif", "x", "-o", "{out}"],
        ["segment", "{raster}", "x"],  # no -o
        ["segment", "{raster}", "x", "-o", "{out}", "--window", "1", "2", "3", "4", "--bbox", "1", "2", "3", "4"],
        ["segment", "{raster}", "x", "-o", "{out}", "--window", "9000", "0", "10", "10"],
        ["segment", "{raster}", "x", "-o", "{raster}"],  # exists
        ["segment", "{raster}", "x", "-o", "{out}", "--bands", "7"],
        ["segment", "{raster}", "x", "-o", "{out}", "--whole", "--overlap", "0"],
        ["frobnicate"],
    ],
)
def test_user_errors_exit_2_with_one_line(raster, tmp_path, capsys, args):
    args = [a.format(raster=raster, out=tmp_path / "o.gpkg") for a in args]
    try:
        code = cli.main(args, engine_factory=_double)
    except SystemExit as exit_:  # argparse's own checks
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_engine_errors_exit_3_and_interrupt_130(raster, tmp_path, capsys):
    def cannot_load(model, device):
        raise FileNotFoundError("no weights for 'nope'")

    class Crashing:
        def chat(self, image, conversation, **options):
            raise RuntimeError("device lost")

    class Interrupted:
        def chat(self, image, conversation, **options):
            raise KeyboardInterrupt

    out = str(tmp_path / "o.gpkg")
    assert cli.main(["segment", str(raster), "x", "-o", out, "--quiet"], engine_factory=cannot_load) == 3
    assert "cannot load model" in capsys.readouterr().err
    assert cli.main(["segment", str(raster), "x", "-o", out, "--quiet"], engine_factory=lambda m, d: Crashing()) == 3
    assert capsys.readouterr().err.strip() == "error: the model failed: RuntimeError: device lost"
    assert (
        cli.main(["segment", str(raster), "x", "-o", out, "--quiet"], engine_factory=lambda m, d: Interrupted()) == 130
    )
    assert not (tmp_path / "o.gpkg").exists()


def test_token_limit_reaches_the_model(raster, tmp_path):
    double = CappedThreshold()
    argv = ["segment", str(raster), "x", "-o", str(tmp_path / "o.gpkg"), "--quiet", "--max-new-tokens", "12"]
    assert cli.main(argv, engine_factory=lambda model, device: double) == 0
    assert double.limits == [12]


def test_unknown_model_is_a_user_error(raster, tmp_path, capsys):
    code = cli.main(["segment", str(raster), "x", "-o", str(tmp_path / "o.gpkg"), "--model", "no-such-model"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot load model 'no-such-model'") and len(err.splitlines()) == 1


def test_progress_bar_unless_quiet(raster, tmp_path, capsys):
    args = [
        "segment",
        str(raster),
        "x",
        "-o",
        str(tmp_path / "o.gpkg"),
        "--whole",
        "--tile-size",
        "64",
        "--overlap",
        "8",
    ]
    assert cli.main(args, engine_factory=_double) == 0
    assert "tile" in capsys.readouterr().err


def test_parser_has_a_place_for_more_commands():
    extra = cli.Command("hello", "say hello", lambda p: p.add_argument("--name"), lambda a, f: 0)
    parser = cli.build_parser([*cli.COMMANDS, extra])
    args = parser.parse_args(["hello", "--name", "x"])
    assert args.run(args, None) == 0 and args.name == "x"


@pytest.mark.slow
def test_module_entry_point_with_the_tiny_model(tmp_path):
    raster = write_raster(tmp_path / "small.tif", disc_image(48, 48, [(24, 24, 10)]))
    out = tmp_path / "tiny.gpkg"
    run = subprocess.run(
        [sys.executable, "-m", "engine", "segment", str(raster), "segment all tanks", "-o", str(out), "--model",
         "tiny", "--device", "cpu", "--quiet"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (layer,) = [name for name, _ in pyogrio.list_layers(out) if name != "conversation"]
    info = pyogrio.read_info(out, layer=layer)
    assert CRS.from_user_input(info["crs"]) == CRS.from_user_input(UTM)
    assert list(info["fields"]) == [
        "phrase",
        "class",
        "score",
        "area_m2",
        "perimeter_m",
        "instruction",
        "model",
        "created",
    ]
