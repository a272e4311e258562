"""python -m engine chat: streaming, memory of the conversation, /save, Ctrl-D, Ctrl-C and errors."""

from __future__ import annotations

import io
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyogrio.raw import read

from engine import cli
from engine.model.chat import Conversation
from engine.types import Cancelled, Reply, Segment, Turn

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import ThresholdDouble, disc_image, write_raster  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DISCS = [(40, 40, 15), (120, 80, 20)]  # (cx, cy, r) in pixels of a 0.5 m raster


class ConversationDouble:
    """The threshold double behind the engine's conversation API: it streams its answer word by word, remembers every
    conversation it was asked about and answers with one "disc" mask of the bright pixels."""

    name = "threshold-double"

    def __init__(self) -> None:
        self.threshold = ThresholdDouble()
        self.seen: list[tuple[int, list[str]]] = []  # (id of the conversation, its turns' texts) at each question
        self.options: list[dict] = []

    def new_conversation(self, image: np.ndarray) -> Conversation:
        return Conversation(image, np.ones(image.shape[:2], dtype=bool), source=image)

    def chat(self, image, conversation: Conversation, *, max_new_tokens=256, on_text=None, should_stop=None) -> Reply:
        assert image is None  # the view was given once, to new_conversation
        self.seen.append((id(conversation), [t.text for t in conversation.turns]))
        self.options.append({"max_new_tokens": max_new_tokens})
        found = self.threshold.chat(conversation.image, conversation.turns[-1].text)
        words = ["I", "see", "<p>", "discs", "</p>", "[SEG]", f"(answer {len(self.seen)})."]
        for word in words:
            if should_stop is not None and should_stop():
                raise Cancelled("stopped")
            if on_text is not None:
                on_text(word + " ")
        raw = " ".join(words)
        conversation.turns.append(Turn("assistant", raw))
        segments = [Segment(s.phrase, s.mask & conversation.valid, s.score) for s in found.segments]
        return Reply(f"I see discs (answer {len(self.seen)}).", segments, raw)


@pytest.fixture
def raster(tmp_path):
    return write_raster(tmp_path / "scene.tif", disc_image(120, 160, DISCS))


def _chat(monkeypatch, raster, typed: str, double=None, extra=()):
    monkeypatch.setattr(sys, "stdin", io.StringIO(typed))
    double = double or ConversationDouble()
    code = cli.main(["chat", str(raster), "--max-new-tokens", "40", *extra], engine_factory=lambda m, d: double)
    return code, double


def test_multi_turn_streaming_and_save_write_polygons_and_the_conversation(raster, tmp_path, monkeypatch, capsys):
    out = tmp_path / "talk.gpkg"
    typed = f"how many discs?\n\n/save {out}\nand their sizes?\n/save {out}\n/quit\nnever asked\n"
    code, double = _chat(monkeypatch, raster, typed)
    captured = capsys.readouterr()
    assert code == 0
    assert "I see <p> discs </p> [SEG] (answer 1)." in captured.out  # streamed as written
    assert "(answer 2)" in captured.out and "never asked" not in str(double.seen)
    assert "[1 segment(s): disc x1" in captured.out
    # one conversation, encoded once, growing: the second question sees the first answer
    (first_id, first_turns), (second_id, second_turns) = double.seen
    assert first_id == second_id and first_turns == ["how many discs?"]
    assert second_turns[:2] == ["how many discs?", "I see <p> discs </p> [SEG] (answer 1)."]
    assert double.options[0]["max_new_tokens"] == 40

    layers = [name for name, _ in pyogrio.list_layers(out)]
    assert layers.count("conversation") == 1 and {"how_many_discs", "and_their_sizes"} <= set(layers)
    meta, _, wkb, values = read(out, layer="how_many_discs")
    columns = dict(zip(meta["fields"], values))
    assert len(wkb) == 2 and set(columns["phrase"]) == {"disc"}
    expected = sorted(math.pi * (r * 0.5) ** 2 for _, _, r in DISCS)  # 0.5 m pixels
    assert sorted(columns["area_m2"]) == pytest.approx(expected, rel=0.08)
    polygons = shapely.from_wkb(wkb)
    assert all(p.is_valid for p in polygons)
    # every turn once, in order, though the file was saved twice
    meta, _, _, values = read(out, layer="conversation")
    table = dict(zip(meta["fields"], values))
    assert list(table["turn"]) == [0, 1, 2, 3]
    assert list(table["role"]) == ["user", "assistant", "user", "assistant"]
    assert list(table["text"]) == [
        "how many discs?",
        "I see discs (answer 1).",
        "and their sizes?",
        "I see discs (answer 2).",
    ]
    assert list(table["layer"]) == ["how_many_discs", "how_many_discs", "and_their_sizes", "and_their_sizes"]


def test_end_of_input_commands_and_save_errors_keep_the_conversation(raster, tmp_path, monkeypatch, capsys):
    typed = f"/save {tmp_path / 'early.gpkg'}\n/frobnicate\n/save\n/help\nq?\n/save {tmp_path / 'no' / 'x.gpkg'}\n"
    code, double = _chat(monkeypatch, raster, typed)  # ends with Ctrl-D (end of input)
    captured = capsys.readouterr()
    assert code == 0 and len(double.seen) == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4 and "Traceback" not in captured.err
    assert "nothing to save yet" in errors[0] and "unknown command /frobnicate" in errors[1]
    assert "usage: /save" in errors[2] and "does not exist" in errors[3]
    assert "/save OUT.gpkg" in captured.out  # /help
    assert not (tmp_path / "early.gpkg").exists()


def test_ctrl_c_mid_answer_stops_the_generation_and_exits_130(raster, monkeypatch, capsys):
    class InterruptedWhileWriting(ConversationDouble):
        def chat(self, image, conversation, **options):
            stop = options["should_stop"]
            options["on_text"]("Partial ")
            os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while the answer is being written
            assert stop()  # the handler raised the flag instead of interrupting us
            self.stopped_cleanly = True
            return super().chat(image, conversation, **options)

    double = InterruptedWhileWriting()
    code, _ = _chat(monkeypatch, raster, "first question\nsecond question\n", double)
    captured = capsys.readouterr()
    assert code == 130 and double.stopped_cleanly
    assert captured.out.startswith("Partial ") and "(answer 1)" not in captured.out
    assert captured.err.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in captured.err
    assert len(double.seen) == 1  # the second question was never asked
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C behaves normally again


@pytest.mark.parametrize(
    "args",
    [
        ["chat", "missing.tif"],
        ["chat", "{raster}", "--window", "9000", "0", "10", "10"],
        ["chat", "{raster}", "--max-new-tokens", "0"],
        ["chat", "{raster}", "--bands", "9"],
    ],
)
def test_user_errors_exit_2_with_one_line(raster, monkeypatch, capsys, args):
    monkeypatch.setattr(sys, "stdin", io.StringIO("never read\n"))
    args = [a.format(raster=raster) for a in args]
    try:
        code = cli.main(args, engine_factory=lambda m, d: ConversationDouble())
    except SystemExit as exit_:  # argparse's own checks
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_a_failing_model_exits_3(raster, monkeypatch, capsys):
    class Broken(ConversationDouble):
        def chat(self, image, conversation, **options):
            raise RuntimeError("device lost")

    code, _ = _chat(monkeypatch, raster, "anything?\n", Broken())
    assert code == 3
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: the model failed: RuntimeError: device lost"


def test_piped_conversation_with_the_tiny_model(raster, tmp_path):
    out = tmp_path / "tiny.gpkg"
    run = subprocess.run(
        [sys.executable, "-m", "engine", "chat", str(raster), "--model", "tiny", "--device", "cpu",
         "--max-new-tokens", "6"],
        input=f"describe the image\nand again\n/save {out}\n", cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"to {out}" in run.stdout and "Traceback" not in run.stderr
    meta, _, _, values = read(out, layer="conversation")
    table = dict(zip(meta["fields"], values))
    assert list(table["role"]) == ["user", "assistant", "user", "assistant"]
    assert list(table["text"][[0, 2]]) == ["describe the image", "and again"]
