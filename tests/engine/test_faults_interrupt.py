"""Ctrl-C: ``segment`` stops within 2 s even while the model is inside one long computation, and writes nothing.

The stand-in model spends its answer in a single C call that never looks at signals (as a large tile's image encoding
does on a busy CPU), so only a command that does not wait for the model can stop in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_geo_helpers import disc_image, write_raster  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]

BUSY_SEGMENT = textwrap.dedent(
    """
    import hashlib, sys, time
    from pathlib import Path

    sys.path.insert(0, {root!r})
    from engine.cli import main
    from engine.cli.common import exit_now
    from engine.types import Reply

    raster, out, marker = sys.argv[1:4]
    start = time.perf_counter()
    hashlib.pbkdf2_hmac("sha256", b"k", b"s", 20_000)
    rounds = int(20_000 * 30 / max(time.perf_counter() - start, 1e-6))  # about 30 s in one C call

    class Busy:
        view_size = 64

        def chat(self, image, question, **options):
            Path(marker).write_text("busy")
            hashlib.pbkdf2_hmac("sha256", b"k", b"s", rounds)
            return Reply("", [])

    args = ["segment", raster, "Segment all tanks", "-o", out, "--whole", "--quiet"]
    exit_now(main(args, engine_factory=lambda model, device: Busy()))
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_stops_segment_within_two_seconds_and_writes_nothing(tmp_path):
    raster = write_raster(tmp_path / "scene.tif", disc_image(64, 64, [(32, 32, 10)]))
    out, marker = tmp_path / "out.gpkg", tmp_path / "busy"
    script = tmp_path / "busy_segment.py"
    script.write_text(BUSY_SEGMENT.format(root=str(REPO_ROOT)))
    child = subprocess.Popen(
        [sys.executable, str(script), str(raster), str(out), str(marker)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "the model was never asked"
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the model's one long call
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        child.wait(timeout=30)
        stopped_after = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stderr = child.stderr.read()
    assert child.returncode == 130, stderr
    assert stopped_after < 2.0
    assert "error: interrupted" in stderr and "Traceback" not in stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
