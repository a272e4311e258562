"""Processing "Fine-tune model" through processing.run with the real engine (a tiny model): a new model folder with
progress and a loss curve, listed with the user's models; a cancel leaves nothing; bad folders are refused."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsProcessingException, QgsProcessingFeedback, QgsSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_geo_helpers import UTM, disc_image, utm_transform, write_raster  # noqa: E402

DISCS = [(60, 50, 20), (200, 140, 30), (260, 120, 18)]  # (x, y, radius) in pixels on a 0.5 m UTM grid
PARAMETERS = ["DATASETS", "DATASET_2", "BASE", "MINUTES", "STEPS", "OUTPUT"]


@pytest.fixture(autouse=True)
def no_user_models():
    QgsSettings().remove("GeoGround/user_models")
    yield
    QgsSettings().remove("GeoGround/user_models")


@pytest.fixture
def provider(qgis_processing, monkeypatch):
    from geoground.plugin import segmentation
    from geoground.plugin.processing.provider import GeoGroundProvider

    monkeypatch.setattr(segmentation, "ENGINES", segmentation.InProcessEngines())
    registry = QgsApplication.processingRegistry()
    if registry.providerById("geoground") is None:
        registry.addProvider(GeoGroundProvider())
    yield registry.providerById("geoground")
    registry.removeProvider("geoground")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A tiny model (random weights) saved as a folder: the base to fine-tune."""
    import torch

    from geoground.engine.model.geoground.modeling import GeoGroundModel
    from geoground.engine.model.geoground.presets import preset_config
    from geoground.engine.model.geoground.tokenizer import build_tokenizer

    config = preset_config("tiny")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        model = GeoGroundModel(config).eval()
    folder = tmp_path_factory.mktemp("models") / "base"
    model.save_pretrained(folder, safe_serialization=True)
    build_tokenizer(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A training set of storage tanks (bright discs) built by the engine from a raster and a polygon layer."""
    from geoground.engine.data.layer_dataset import build_dataset

    folder = tmp_path_factory.mktemp("layers")
    transform = utm_transform(0.5)
    raster = write_raster(folder / "discs.tif", disc_image(240, 320, DISCS), transform=transform)
    corners = ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1))
    squares = [[[transform * (c + dx * r, w + dy * r) for dx, dy in corners]] for c, w, r in DISCS]
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:" + UTM.replace(":", "::")}},
        "features": [
            {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": s}} for s in squares
        ],
    }
    vector = folder / "tanks.geojson"
    vector.write_text(json.dumps(collection))
    build_dataset(raster, vector, folder / "set", class_name="storage tank", chip=128, overlap=16)
    return folder / "set"


class Recording(QgsProcessingFeedback):
    """Keeps the progress and the log; cancels itself at the first progress past zero when asked to."""

    def __init__(self, cancel_at_first_step: bool = False) -> None:
        super().__init__()
        self.cancel_at_first_step = cancel_at_first_step
        self.percents: list[float] = []
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self.progressChanged.connect(self._progress)

    def _progress(self, percent: float) -> None:
        self.percents.append(percent)
        if self.cancel_at_first_step and percent > 0:
            self.cancel()

    def pushInfo(self, info: str) -> None:  # noqa: N802 - QGIS API
        self.lines.append(info)
        super().pushInfo(info)

    def pushWarning(self, warning: str) -> None:  # noqa: N802 - QGIS API
        self.warnings.append(warning)
        super().pushWarning(warning)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_the_algorithm_is_registered_with_its_parameters(provider):
    from qgis.core import QgsProcessingParameterDefinition

    algorithm = QgsApplication.processingRegistry().algorithmById("geoground:finetunemodel")
    assert algorithm is not None and algorithm.displayName() == "Fine-tune model"
    assert [p.name() for p in algorithm.parameterDefinitions()] == PARAMETERS
    definition = algorithm.parameterDefinition
    assert definition("BASE").defaultValue() == "demo"  # the settings' default model
    assert definition("MINUTES").defaultValue() == 10 and definition("MINUTES").minimum() == 0.5
    assert definition("STEPS").flags() & QgsProcessingParameterDefinition.FlagAdvanced
    assert definition("DATASET_2").flags() & QgsProcessingParameterDefinition.FlagOptional
    assert {o.name() for o in algorithm.outputDefinitions()} >= {"MODEL", "REPORT", "OUTPUT"}


def test_fine_tuning_writes_a_model_reports_progress_and_lists_it_with_the_users_models(
    provider, base, dataset, tmp_path
):
    import processing

    from geoground.plugin.settings import MODELS, model_choices, user_models

    before = snapshot(base)
    changes = []

    def changed():
        changes.append(user_models())

    MODELS.changed.connect(changed)
    out = tmp_path / "mine"
    feedback = Recording()
    try:
        result = processing.run(
            "geoground:finetunemodel",
            {"DATASETS": str(dataset), "BASE": str(base), "MINUTES": 0.5, "STEPS": 2, "OUTPUT": str(out)},
            feedback=feedback,
        )
    finally:
        MODELS.changed.disconnect(changed)
    assert result["MODEL"] == result["OUTPUT"] == str(out)
    assert {"config.json", "model.safetensors", "finetune.json"} <= {p.name for p in out.iterdir()}
    assert "2 steps" in result["REPORT"] and "loss" in result["REPORT"]
    assert feedback.percents[-1] == 100 and 50 in feedback.percents  # step 1 of 2, then 2 of 2
    curve = [line for line in feedback.lines if line.startswith("Step ")]
    assert [line.split(":")[0] for line in curve] == ["Step 1 of 2", "Step 2 of 2"] and "█" in curve[0]
    assert snapshot(base) == before  # the base model is only read
    assert user_models() == [str(out)] and changes == [[str(out)]]  # listed, and the pickers were told at once
    assert str(out) in model_choices()
    QgsSettings().sync()
    stored = QgsSettings().value("GeoGround/user_models")
    assert str(out) in ([stored] if isinstance(stored, str) else list(stored))  # back after a restart


def test_a_second_folder_and_a_list_separated_by_semicolons_are_both_read(provider, dataset, tmp_path):
    from qgis.core import QgsProcessingContext

    from geoground.plugin.processing.finetune import FineTuneModel

    algorithm = FineTuneModel()
    algorithm.initAlgorithm()
    context = QgsProcessingContext()
    folders = algorithm._datasets({"DATASETS": f"{dataset} ; {dataset}", "DATASET_2": str(dataset)}, context)
    assert folders == [str(dataset)]
    with pytest.raises(QgsProcessingException, match="does not exist"):
        algorithm._datasets({"DATASETS": f"{dataset};{tmp_path / 'nowhere'}"}, context)


def test_a_cancelled_run_writes_nothing_and_lists_nothing(provider, base, dataset, tmp_path):
    import processing

    from geoground.plugin.settings import user_models

    before = snapshot(base)
    out = tmp_path / "mine"
    feedback = Recording(cancel_at_first_step=True)
    result = processing.run(
        "geoground:finetunemodel",
        {"DATASETS": str(dataset), "BASE": str(base), "MINUTES": 0.5, "STEPS": 5, "OUTPUT": str(out)},
        feedback=feedback,
    )
    assert "MODEL" not in result
    assert feedback.isCanceled() and max(feedback.percents) < 100
    assert any("no model was written" in w and "unchanged" in w for w in feedback.warnings), feedback.warnings
    assert not out.exists() or not any(out.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine")]  # no half-written folder beside it
    assert snapshot(base) == before
    assert user_models() == []


def test_bad_folders_are_refused_with_a_message(provider, base, dataset, tmp_path):
    import processing

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("keep me")
    run = {"DATASETS": str(dataset), "BASE": str(base), "MINUTES": 0.5, "STEPS": 1}
    with pytest.raises(QgsProcessingException, match="already exists and is not an empty folder"):
        processing.run("geoground:finetunemodel", run | {"OUTPUT": str(taken)})
    assert (taken / "keep.txt").read_text() == "keep me" and len(list(taken.iterdir())) == 1
    with pytest.raises(QgsProcessingException, match="not a training set folder"):
        processing.run("geoground:finetunemodel", run | {"DATASETS": str(base), "OUTPUT": str(tmp_path / "a")})
    with pytest.raises(QgsProcessingException, match="holds no model"):
        processing.run("geoground:finetunemodel", run | {"BASE": str(dataset), "OUTPUT": str(tmp_path / "b")})
    with pytest.raises(QgsProcessingException, match="temporary folder"):
        processing.run("geoground:finetunemodel", run | {"OUTPUT": "TEMPORARY_OUTPUT"})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


class RecordingEngine:
    """Stands in for the engine process: records the request, reports ``steps`` steps (the last one twice, as the
    engine does) and writes a model folder."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.params: dict | None = None

    def finetune(self, params, on_event=lambda e: None, should_stop=lambda: False):
        self.params = params
        losses = [2.0 / (1 + step) for step in range(self.steps)]
        for step, loss in enumerate(losses, 1):
            on_event({"event": "progress", "done": step, "total": self.steps, "loss": loss})
        on_event({"event": "progress", "done": self.steps, "total": self.steps, "loss": losses[-1]})
        Path(params["output"]).mkdir(parents=True, exist_ok=True)
        (Path(params["output"]) / "config.json").write_text("{}")
        outcome = {"steps": self.steps, "seconds": 1.0, "classes": ["storage tank"], "parts": ["mask_predictor"]}
        return outcome | {"model": params["output"], "losses": losses, "first_loss": 2.0, "last_loss": losses[-1]}


def test_the_time_budget_goes_to_the_engine_and_the_log_draws_the_loss_every_ten_steps(
    provider, monkeypatch, dataset, tmp_path
):
    import processing

    from geoground.plugin import segmentation

    engine = RecordingEngine(steps=25)
    monkeypatch.setattr(segmentation, "ENGINES", engine)
    feedback = Recording()
    run = {"DATASETS": str(dataset), "BASE": "demo", "MINUTES": 2.5}
    processing.run("geoground:finetunemodel", run | {"OUTPUT": str(tmp_path / "a")}, feedback=feedback)
    assert engine.params == {
        "datasets": [str(dataset)],
        "base": "demo",
        "output": str(tmp_path / "a"),
        "minutes": 2.5,
        "steps": None,
    }
    curve = [line for line in feedback.lines if line.startswith("Step ")]
    assert [line.split(":")[0] for line in curve] == [f"Step {n} of 25" for n in (1, 10, 20, 25)]
    bars = [line.count("█") for line in curve]
    assert bars == sorted(bars, reverse=True) and bars[0] == 30  # the loss falls: so do the bars
    assert [round(p) for p in feedback.percents if p][:2] == [4, 8] and feedback.percents[-1] == 100
    processing.run("geoground:finetunemodel", run | {"STEPS": 7, "OUTPUT": str(tmp_path / "b")})
    assert (engine.params["minutes"], engine.params["steps"]) == (None, 7)  # a set number of steps instead
