"""The commands wired to other parts of the engine: eval (with a model or a predictions file), bench, and the
command list itself."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from engine import cli
from engine.types import Reply, Segment

REPO_ROOT = Path(__file__).resolve().parents[2]


def _geopixeld_sample(folder: Path) -> Path:
    """A one-sample GeoPixelD index: an 8x8 black image whose one "tank" covers rows and columns 0..2."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(folder / "a.png", "w", driver="PNG", height=8, width=8, count=3, dtype="uint8") as png:
            png.write(np.zeros((3, 8, 8), np.uint8))
    answer = "The <p> tank </p> [SEG] here."
    record = {"id": 1, "img": "a.png", "gcg_description": answer, "polygons": [[[[0, 0], [2, 0], [2, 2], [0, 2]]]]}
    (folder / "a.json").write_text(json.dumps(record))
    entry = {
        "id": 1,
        "conversations": [{"from": "human", "value": "Where is the tank?"}, {"from": "bot", "value": answer}],
        "image": "a.png",
        "polygons": "a.json",
    }
    (folder / "index.json").write_text(json.dumps([entry]))
    return folder / "index.json"


class CornerModel:
    """Answers every question with one mask: the top-left ``size`` x ``size`` pixels."""

    name = "corner"

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls: list[tuple[tuple[int, ...], str, int]] = []

    def chat(self, image, instruction, max_new_tokens=256):
        self.calls.append((image.shape, instruction, max_new_tokens))
        mask = np.zeros(image.shape[:2], dtype=bool)
        mask[: self.size, : self.size] = True
        return Reply("The tank.", [Segment("tank", mask, 0.9)], "The <p> tank </p> [SEG].")


@pytest.mark.parametrize(("size", "precision"), [(3, 1.0), (8, 0.0)])
def test_eval_scores_the_loaded_model(tmp_path, capsys, size, precision):
    index = _geopixeld_sample(tmp_path)
    model = CornerModel(size)
    report = tmp_path / "report.json"
    argv = ["eval", "--task", "referring", "--format", "geopixeld", "--index", str(index), "--report", str(report),
            "--max-new-tokens", "9", "--quiet"]  # fmt: skip
    assert cli.main(argv, engine_factory=lambda name, device: model) == 0
    assert model.calls == [((8, 8, 3), "Where is the tank?", 9)]
    printed = json.loads(capsys.readouterr().out)
    assert printed["precision@0.5"] == precision  # a 3x3 corner is the target; the whole 8x8 image has IoU 9/64
    assert json.loads(report.read_text())["metrics"]["precision@0.5"] == precision


def test_eval_with_a_predictions_file_loads_no_model(tmp_path, capsys):
    from engine.data.geopixeld import GeoPixelDDataset
    from engine.eval.cli import save_predictions

    index = _geopixeld_sample(tmp_path)
    dataset = GeoPixelDDataset(index)
    save_predictions(tmp_path / "p.json", dataset, [("x", [Segment("tank", dataset[0].masks[0])])])

    def no_model(name, device):
        raise AssertionError("a predictions file needs no model")

    argv = ["eval", "--task", "referring", "--format", "geopixeld", "--index", str(index), "--predictions",
            str(tmp_path / "p.json"), "--report", str(tmp_path / "r.json")]  # fmt: skip
    assert cli.main(argv, engine_factory=no_model) == 0
    assert json.loads(capsys.readouterr().out)["cIoU"] == 1.0


def test_eval_errors(tmp_path, capsys):
    index = _geopixeld_sample(tmp_path)
    base = ["eval", "--task", "referring", "--format", "geopixeld", "--report", str(tmp_path / "r.json")]
    assert cli.main(base, engine_factory=lambda n, d: CornerModel(3)) == 2  # no --index
    assert "needs --index" in capsys.readouterr().err

    def unknown(name, device):
        from engine.hub.registry import ModelNotFoundError

        raise ModelNotFoundError(f"unknown model {name!r}")

    assert cli.main([*base, "--index", str(index), "--model", "nope"], engine_factory=unknown) == 2
    assert capsys.readouterr().err.strip() == "error: cannot load model 'nope' on auto: unknown model 'nope'"


def test_bench_commands_reach_the_benchmarks(capsys):
    assert cli.main(["bench", "params", "--config", "tiny"]) == 0
    assert capsys.readouterr().out.startswith("tiny vision_encoder")
    with pytest.raises(SystemExit) as exit_info:  # the benchmark's own options and checks are used as they are
        cli.main(["bench", "model", "--tokens", "1"])
    assert exit_info.value.code == 2 and "--tokens must be at least 2" in capsys.readouterr().err
    cli.main(["bench", "geo", "vectorize", "--instances", "5"])
    printed = capsys.readouterr().out
    assert "machine:" in printed and "instances=5, polygons=5" in printed


def test_every_command_has_help(capsys):
    run = subprocess.run([sys.executable, "-m", "engine", "--help"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert run.returncode == 0
    names = [command.name for command in cli.COMMANDS]
    assert {"segment", "chat", "batch", "demo", "eval", "bench", "train", "convert"} <= set(names)
    for name in names:
        assert f"    {name} " in run.stdout
        with pytest.raises(SystemExit) as exit_info:
            cli.main([name, "--help"])
        assert exit_info.value.code == 0 and capsys.readouterr().out.startswith("usage: python -m engine " + name)


def test_train_and_convert_reach_their_modules(tmp_path, capsys):
    assert cli.main(["train", "--recipe", str(tmp_path / "no-such-recipe.toml")]) == 2
    captured = capsys.readouterr()
    assert "no-such-recipe" in captured.out + captured.err
    code = cli.main(["convert", "geopixel", str(tmp_path / "no-such-checkpoint"), str(tmp_path / "converted")])
    captured = capsys.readouterr()
    assert code == 2 and "error" in captured.out + captured.err
