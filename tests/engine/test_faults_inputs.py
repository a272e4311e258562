"""Bad instructions are refused before any model loads; unreadable pixels say GDAL's reason."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from engine import cli
from engine.errors import error_reason
from engine.geo import RasterError
from engine.geo.pipeline import segment_raster
from engine.hub.limits import check_instruction
from engine.model.chat import EmptyPromptError, PromptTooLongError
from engine.service import EngineService, SegmentRequest

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import ThresholdDouble, disc_image, write_raster  # noqa: E402

LONG = "Segment all storage tanks " * 400  # 10,400 characters: five times the demo model's 2,048 positions


class RecordingFactory:
    """An engine factory that notes every load (there must be none for a refused instruction)."""

    def __init__(self) -> None:
        self.loads: list[str] = []

    def __call__(self, model: str, device: str) -> ThresholdDouble:
        self.loads.append(model)
        return ThresholdDouble()


@pytest.mark.parametrize(("instruction", "message"), [(LONG, "tokens long"), ("   ", "the prompt is empty")])
def test_segment_refuses_the_instruction_before_loading_the_model(tmp_path, capsys, instruction, message):
    raster = write_raster(tmp_path / "scene.tif", disc_image(32, 32, [(16, 16, 6)]))
    factory = RecordingFactory()
    out = tmp_path / "out.gpkg"
    code = cli.main(["segment", str(raster), instruction, "-o", str(out), "--quiet"], engine_factory=factory)
    stderr = capsys.readouterr().err
    assert code == 2 and factory.loads == [] and not out.exists()
    assert stderr.startswith("error: ") and message in stderr and stderr.count("\n") == 1


def test_batch_refuses_a_long_instruction_before_loading_the_model(tmp_path, capsys):
    raster = write_raster(tmp_path / "scene.tif", disc_image(32, 32, [(16, 16, 6)]))
    factory = RecordingFactory()
    code = cli.main(["batch", str(raster), "-o", str(tmp_path / "out"), LONG, "--quiet"], engine_factory=factory)
    assert code == 2 and factory.loads == [] and "tokens long" in capsys.readouterr().err


def test_the_limit_is_the_model_s_context_and_a_normal_question_passes():
    assert check_instruction("  Segment all storage tanks  ", "demo") == "Segment all storage tanks"
    with pytest.raises(PromptTooLongError, match=r"more than the 2048 tokens"):
        check_instruction(LONG, "demo")
    medium = "Segment all storage tanks " * 120  # 3,119 characters: within tiny's 4,096 positions, not demo's 2,048
    assert check_instruction(medium, "tiny") == medium.strip()
    with pytest.raises(PromptTooLongError, match=r"more than the 2048 tokens"):
        check_instruction(medium, "demo")
    with pytest.raises(PromptTooLongError, match=r"more than the 4096 tokens"):
        check_instruction(LONG, "tiny")
    with pytest.raises(EmptyPromptError):
        check_instruction("", "org/not-downloaded")  # empty is refused for any model, even one not on disk
    assert check_instruction(LONG, "org/not-downloaded") == LONG.strip()  # unknown length: the engine checks it


def test_the_service_refuses_before_loading_and_the_engine_refuses_after():
    loads = []
    service = EngineService(loader=lambda *args: loads.append(args))
    request = SegmentRequest(LONG, (1.0, 0.0, 0.0, 0.0, -1.0, 0.0), model="demo")
    with pytest.raises(PromptTooLongError):
        service.segment(request, np.zeros((32, 32, 3), np.uint8))
    assert loads == []
    from engine.api import Engine

    engine = Engine.load("demo", device="cpu")
    assert engine.context_length == 2048
    with pytest.raises(PromptTooLongError):
        engine.chat(np.zeros((32, 32, 3), np.uint8), LONG, max_new_tokens=4)
    conversation = engine.new_conversation(np.zeros((32, 32, 3), np.uint8))
    conversation.ask(LONG)
    with pytest.raises(PromptTooLongError):
        engine.chat(None, conversation, max_new_tokens=4)


def test_unreadable_pixels_give_gdal_s_reason(tmp_path):
    path = tmp_path / "truncated.tif"
    profile = dict(driver="GTiff", width=512, height=512, count=3, dtype="uint8", tiled=True, blockxsize=256)
    profile |= dict(blockysize=256, compress="deflate", crs="EPSG:32615", transform=Affine(1, 0, 0, 0, -1, 0))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.random.default_rng(0).integers(0, 255, (3, 512, 512), dtype=np.uint8))
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) * 2 // 3)  # the last tiles are cut off
    with pytest.raises(RasterError) as caught:
        segment_raster(path, "Segment all storage tanks", ThresholdDouble(), whole=True)
    message = str(caught.value)
    assert "See previous exception" not in message
    assert "IReadBlock failed" in message and "TIFF" in message


def test_error_reason_walks_the_chain_to_the_specific_messages():
    try:
        try:
            try:
                raise OSError("TIFFFillTile: read error at row 256")
            except OSError as low:
                raise RuntimeError("band 1: IReadBlock failed") from low
        except RuntimeError as mid:
            raise OSError("Read failed. See previous exception for details.") from mid
    except OSError as top:
        assert error_reason(top) == "band 1: IReadBlock failed (TIFFFillTile: read error at row 256)"
    assert error_reason(ValueError("plain")) == "plain"
    assert error_reason(ValueError("")) == "ValueError"
