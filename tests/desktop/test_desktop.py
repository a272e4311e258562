"""The real-application tier: the `qgis` desktop binary under Xvfb, driven through its GUI.

Once per module (fixture ``desktop``): ``./build.sh zip`` and ``./build.sh wheels``, a fresh QGIS profile with the
plugin unzipped into it and enabled (what "Install from ZIP" does), then two launches of
``qgis --code tests/desktop/driver.py``:

1. the plugin's installer puts the engine packages into the profile from the folder of wheels; a synthetic tank-farm
   raster (UTM) is opened, "Segment all storage tanks" is typed into the chat dock and sent; both Processing
   algorithms run; on the shared tank farm (Web Mercator, on the UTM map) an instruction is sent, one tank roof is
   clicked with "Pick examples", then its outline is taken with "Use selected features" and "Find all like these"
   is pressed with the phrase "storage tank"; the Processing algorithm "Find all like these" runs on the same
   example; the project is saved with Save As; QGIS quits.
2. the first launch's temporary folder is deleted and QGIS starts with a new one; the saved project is opened; its
   layers and the dock's conversation are looked at; the dock's export is written and read back; QGIS quits.

The driver writes what it sees into build/desktop/report.json and screenshots of each step into build/desktop/. Each
test below checks one outcome of that report. Skipped only when the `qgis` binary or xvfb-run is missing.

``GEOGROUND_DESKTOP_ZIP=/path/to/geoground.zip`` tests that archive instead of building one (a release, or an older
commit: ``git archive --format=zip --prefix=geoground/ -o old.zip COMMIT __init__.py metadata.txt LICENSE README.md
plugin engine resources i18n``). ``GEOGROUND_WHEELS`` chooses the wheels folder (see ./build.sh wheels).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "desktop"
DRIVER = Path(__file__).with_name("driver.py")
PROFILE = OUT / "profile"
PROJECT = OUT / "project" / "desktop.qgz"
EXPORT = OUT / "export" / "export.gpkg"
TANK_FARM = ROOT.parent / "shared" / "data" / "demo" / "tank_farm_2m_3857.tif"  # third-party imagery: read in place
TANK_ROOFS = ROOT / "engine" / "eval" / "labels" / "tank_farm_roofs.json"  # its tank roofs, in pixels
EXAMPLE_PHRASE = "storage tank"
INSTRUCTION = "Segment all storage tanks"
RASTER_NAME = "synthetic_tank_farm"
SCREEN = "-screen 0 1280x1024x24"
WATCHDOG_S = {"first": 1800, "second": 600}
ARCHIVE_VARIABLE = "GEOGROUND_DESKTOP_ZIP"  # test this plugin archive instead of building one (e.g. a release)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("qgis") is None, reason="the QGIS desktop binary `qgis` is not installed"),
    pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run (Debian package xvfb) is not installed"),
]


def _run(command: list[str], what: str) -> str:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _install_plugin(archive: Path) -> None:
    """A fresh profile with the archive unzipped into its plugins folder and the plugin enabled."""
    default = PROFILE / "profiles" / "default"
    plugins = default / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(plugins)
    settings = default / "QGIS" / "QGIS3.ini"
    settings.parent.mkdir(parents=True)
    settings.write_text("[PythonPlugins]\ngeoground=true\n", encoding="utf-8")


def _qgis_environment(tmpdir: Path, config: Path) -> dict[str, str]:
    """The developer's environment minus what belongs to the test process: Qt's offscreen platform (QGIS draws on
    Xvfb), the .venv, a Python path."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"QT_QPA_PLATFORM", "QT_QPA_PLATFORMTHEME", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
    }
    venv = str(ROOT / ".venv")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv))
    env.update(TMPDIR=str(tmpdir), GEOGROUND_DESKTOP_CONFIG=str(config), HF_HUB_OFFLINE="1")
    return env


def _launch(phase: str, config: dict) -> dict:
    """Run QGIS once with the driver; returns how long it took and how it ended."""
    tmpdir = OUT / f"tmp-{phase}"
    tmpdir.mkdir(parents=True)
    config_path = OUT / f"{phase}-config.json"
    config_path.write_text(json.dumps(dict(config, phase=phase, watchdog_s=WATCHDOG_S[phase]), indent=1))
    command = ["xvfb-run", "-a", "-s", SCREEN, "qgis", "--profiles-path", str(PROFILE)]
    command += ["--nologo", "--noversioncheck", "--code", str(DRIVER)]
    log = OUT / f"{phase}-qgis.log"
    started = time.monotonic()
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(
            command,
            cwd=OUT,
            env=_qgis_environment(tmpdir, config_path),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=WATCHDOG_S[phase] + 240)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = "killed after timeout"
    return {
        "seconds": round(time.monotonic() - started, 1),
        "returncode": returncode,
        "qgis_log": str(log),
        "tmpdir": str(tmpdir),
    }


@pytest.fixture(scope="module")
def desktop() -> dict:
    """Both launches, once; the merged report (also written to build/desktop/report.json)."""
    if os.environ.get(ARCHIVE_VARIABLE):
        archive = Path(os.environ[ARCHIVE_VARIABLE]).resolve()
    else:
        _run([str(ROOT / "build.sh"), "zip"], "./build.sh zip")
        archive = ROOT / "build" / "geoground.zip"
    wheels = Path(_run([str(ROOT / "build.sh"), "wheels"], "./build.sh wheels").strip().splitlines()[-1])
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    raster = json.loads(
        _run([sys.executable, str(ROOT / "tools" / "desktop_raster.py"), str(OUT / "data" / "scene.tif")], "raster")
    )
    _install_plugin(archive)
    config = {
        "out_dir": str(OUT),
        "report": str(OUT / "report.json"),
        "raster": raster,
        "raster_name": RASTER_NAME,
        "tank_farm": str(TANK_FARM) if TANK_FARM.is_file() else None,
        "wheels": str(wheels),
        "project": str(PROJECT),
        "export": str(EXPORT),
        "instruction": INSTRUCTION,
        "tank_roof": json.loads(TANK_ROOFS.read_text(encoding="utf-8"))["roofs"][0],
        "example_phrase": EXAMPLE_PHRASE,
    }
    launches = {"first": _launch("first", config)}
    shutil.rmtree(launches["first"]["tmpdir"])  # "wipe the temporary folder" between the launches
    launches["first"]["tmpdir_removed"] = True
    launches["second"] = _launch("second", config)
    report_path = OUT / "report.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = {}
    report.update(launches=launches, inputs={"archive": str(archive), **config})
    report_path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


# ------------------------------------------------------------------------------------------------- helpers
def _phase(report: dict, phase: str) -> dict:
    if phase not in report:
        launch = report.get("launches", {}).get(phase, {})
        log = Path(launch.get("qgis_log", "/nonexistent"))
        tail = log.read_text(errors="replace")[-2000:] if log.is_file() else "(no log)"
        pytest.fail(f"the driver wrote nothing for the {phase} launch ({launch}); QGIS output:\n{tail}")
    return report[phase]


def _step(report: dict, phase: str, name: str) -> dict:
    record = _phase(report, phase)["steps"].get(name)
    if record is None:
        pytest.fail(f"{phase} launch never reached step {name!r} (steps run: {list(_phase(report, phase)['steps'])})")
    if record.get("error") and not record.get("ok", True):
        print(f"{phase}/{name} error:\n{record['error']}")
    return record


def _log_tail(report: dict, phase: str, limit: int = 15) -> str:
    entries = [e for e in _phase(report, phase)["log"] if e["tag"] in ("GeoGround", "Python error", "Processing")]
    return "\n".join(f"  [{e['tag']} @ {e['step']}] {e['message'][:400]}" for e in entries[-limit:]) or "  (none)"


def _seen(record: dict) -> str:
    """What the user saw in the dock after a chat step, for failure messages."""
    return (
        f"conversation added: {record.get('conversation_added')!r}; task started {record.get('task_started')}, "
        f"finished {record.get('task_finished')} after {record.get('answer_seconds')} s; "
        f"new layers: {[(layer['name'], layer.get('feature_count')) for layer in record.get('new_layers', [])]}"
    )


def _first_result(report: dict) -> dict:
    chat = _step(report, "first", "chat")
    result = chat.get("result_layer")
    if not result:
        pytest.fail(
            "the first launch's chat produced no result layer, so there is nothing to find after reopening; "
            + _seen(chat)
        )
    return result


# ------------------------------------------------------------------------------------------------- first launch
def test_both_launches_ran_to_the_end(desktop):
    for phase in ("first", "second"):
        launch = desktop["launches"][phase]
        record = _phase(desktop, phase)
        assert not record["watchdog_fired"], (
            f"{phase}: the watchdog ended QGIS during step {record.get('watchdog_step')}"
        )
        assert record["finished"], f"{phase}: QGIS ended before the driver's last step ({launch})"
        assert launch["returncode"] == 0, f"{phase}: QGIS exited with {launch['returncode']} (log {launch['qgis_log']})"


def test_plugin_loads_from_the_zip(desktop):
    record = _step(desktop, "first", "plugin")
    assert record["loaded"], f"geoground is not in qgis.utils.plugins; active plugins {record['active_plugins']}"
    assert record["loaded_from_profile"], f"the plugin was imported from {record['plugin_file']}, not the profile"
    assert record["dock_found"] and record["chat_action_found"], record


def test_engine_packages_install_from_the_wheels(desktop):
    record = _step(desktop, "first", "install")
    assert record.get("ok"), (
        f"the installer reported ok={record.get('ok')}: {record.get('message')!r} "
        f"(error: {record.get('error')}); log:\n{_log_tail(desktop, 'first')}"
    )
    assert record["missing_after"] == [], f"still missing after the install: {record['missing_after']}"
    stale = [m for m in record["message_bar"] if "not installed" in m.get("text", "")]
    assert not stale, f"the warning about missing packages stayed after the install: {stale}"
    assert record["torch_spec"] and record["torch_spec"].startswith(record["private_folder"]), (
        f"torch imports from {record['torch_spec']}, not from the plugin's folder {record['private_folder']}"
    )


def test_raster_opens(desktop):
    record = _step(desktop, "first", "raster")
    assert record.get("ok"), record.get("error")
    assert record["layer"]["valid"] and record["layer"]["crs"] == desktop["inputs"]["raster"]["crs"], record["layer"]


def test_chat_in_the_dock_adds_a_polygon_layer(desktop):
    record = _step(desktop, "first", "chat")
    assert record.get("typed") == INSTRUCTION, f"the dock's line edit held {record.get('typed')!r}"
    assert record.get("task_started"), f"clicking Send started no task; {_seen(record)}"
    assert record.get("task_finished"), f"the answer did not come in time; {_seen(record)}"
    result = record.get("result_layer")
    assert result, f"no result layer after the answer; {_seen(record)}; log:\n{_log_tail(desktop, 'first')}"
    assert result["valid"] and result["feature_count"] >= 1, f"result layer {result['name']}: {result}"
    assert result["all_polygons"], [f["geometry_type"] for f in result["features"]]
    assert result["crs"] == desktop["inputs"]["raster"]["crs"], f"result CRS {result['crs']}, raster's is not"
    assert result["all_within_raster"], [f.get("within_raster") for f in result["features"]]
    assert result["all_area_m2_positive"], [f.get("area_m2") for f in result["features"]]
    for feature in result["features"]:  # in UTM the planar area and the measured area agree closely
        assert feature["area_m2"] == pytest.approx(feature["geometry_area"], rel=0.02), feature
    assert " object(s) in layer " in record["conversation"], f"the dock shows: {record['conversation']!r}"


def test_processing_segment_by_instruction(desktop):
    record = _step(desktop, "first", "processing").get("segmentbyinstruction", {})
    assert record.get("ok"), f"processing.run failed:\n{record.get('error')}\n{record.get('feedback_log', '')[-1500:]}"
    layer = record["layer"]
    assert layer["valid"] and layer["feature_count"] >= 1, f"output {record['output']}: {layer}"
    assert layer["all_within_raster"] and layer["all_area_m2_positive"], layer
    assert (record.get("answer") or "").strip(), f"empty ANSWER: {record.get('answer')!r}"


def test_processing_describe_with_grounded_masks(desktop):
    record = _step(desktop, "first", "processing").get("describewithgroundedmasks", {})
    assert record.get("ok"), f"processing.run failed:\n{record.get('error')}\n{record.get('feedback_log', '')[-1500:]}"
    layer = record["layer"]
    assert layer["valid"], f"output {record['output']} is not a valid layer: {layer}"
    assert (record.get("answer") or "").strip(), f"empty ANSWER: {record.get('answer')!r}"
    if layer["feature_count"]:
        assert layer["all_within_raster"] and layer["all_area_m2_positive"], layer


def test_processing_build_training_set_from_the_answer_s_polygons(desktop):
    record = _step(desktop, "first", "processing").get("buildtrainingset", {})
    assert record.get("ok"), f"processing.run failed:\n{record.get('error')}\n{record.get('feedback_log', '')[-1500:]}"
    assert record["dataset"] and record["contact_sheet"], record
    assert "storage tank:" in (record.get("report") or ""), record.get("report")
    assert record.get("dialog_saved"), record.get("dialog_error")


def test_processing_fine_tune_model_from_the_training_set(desktop):
    record = _step(desktop, "first", "processing").get("finetunemodel", {})
    assert record.get("ok"), f"fine-tuning failed:\n{record.get('error')}\n{record.get('feedback_log', '')[-1500:]}"
    assert record["config"] and record["listed"], record  # a model folder, in the picker's list
    assert len(record["losses"]) == 40 and "40 steps" in record["report"], record
    assert "loss" in record["feedback_log"].lower()  # the loss curve in the log
    base, tuned = record["answers"]["base"], record["answers"]["tuned"]
    assert tuned["features"] > 0, record["answers"]
    assert (tuned["features"], tuned["area_m2"]) != (base["features"], base["area_m2"]), record["answers"]


def test_tank_farm_from_the_shared_data(desktop):
    record = _step(desktop, "first", "tank_farm")
    if record.get("skipped"):
        pytest.skip(record["skipped"])
    result = record.get("result_layer")
    assert result, f"no result layer on the tank farm; {_seen(record)}; log:\n{_log_tail(desktop, 'first')}"
    assert result["feature_count"] >= 1 and result["all_within_raster"] and result["all_area_m2_positive"], result


def _count_in_answer(answer: str, count: int) -> bool:
    """Whether the answer says how many objects it found ("3 storage tanks, 5,120 m² in all.")."""
    return re.search(rf"(?<![\d,.]){count}(?![\d,.]\d) {re.escape(EXAMPLE_PHRASE)}s?\b", answer) is not None


def test_find_all_like_these_in_the_dock(desktop):
    record = _step(desktop, "first", "find_all")
    if record.get("skipped"):
        pytest.skip(record["skipped"])
    assert record["map_crs"] != record["raster_crs"], "the map should be in another CRS than the tank farm"
    # a click with "Pick examples" is an example in the raster's CRS, on the roof clicked
    assert record.get("picking") and record.get("map_tool") == "PickTool", record
    assert record.get("examples_after_click") == 1 and record["label_after_click"] == "1 example", record
    assert record["click_example"]["crs"] == record["raster_crs"], record["click_example"]
    assert record["click_distance_to_roof_centre"] < 0.25 * record["roof"]["radius"], record
    assert record["markers_after_click"] == 1
    assert record["picking_after_escape"] is False, "Esc did not end picking"
    assert record["examples_after_clear"] == 0 and record["label_after_clear"] == "No examples yet"
    # the roof's outline, selected in a WGS 84 layer, reprojected to the raster's CRS
    assert record.get("examples_after_selection") == 1, record
    selected = record["selection_example"]
    assert selected["crs"] == record["raster_crs"], selected
    assert selected["area"] == pytest.approx(record["roof_area"], rel=0.01), selected
    assert selected["centroid_distance_to_roof_centre"] < 0.5, selected
    # "Find all like these": a layer of polygons named after the phrase, and an answer that counts them
    assert record.get("typed") == EXAMPLE_PHRASE and record.get("task_started"), _seen(record)
    assert record.get("task_finished"), f"the answer did not come in time; {_seen(record)}"
    result = record.get("result_layer")
    assert result, (
        f"no result layer; the dock says {record.get('conversation_added')!r}; log:\n{_log_tail(desktop, 'first')}"
    )
    assert result["valid"] and result["feature_count"] >= 1 and result["all_polygons"], result
    assert result["name"].startswith("storage_tank_"), result["name"]
    assert result["phrases"] == [EXAMPLE_PHRASE], result["phrases"]
    assert result["all_within_raster"] and result["all_area_m2_positive"], result
    answer = record.get("answer") or ""
    assert _count_in_answer(answer, result["feature_count"]), (
        f"the answer {answer!r} does not say {result['feature_count']}"
    )
    assert answer in record["conversation_added"] and record["input_after"] == "", record["conversation_added"]
    user = [turn["text"] for turn in record["turns"] if turn["role"] == "user"]
    assert user == [f"Find all like these (1 example): {EXAMPLE_PHRASE}"], user
    shot = _phase(desktop, "first")["screenshots"].get("find-all")
    assert shot and shot["saved"] and result["name"] in shot["layers_on_canvas"], shot


def test_processing_find_all_like_these(desktop):
    record = _step(desktop, "first", "processing_find_all")
    if record.get("skipped"):
        pytest.skip(record["skipped"])
    assert record.get("registered"), "the algorithm geoground:findalllikethese is not registered"
    assert record.get("ok", True), (
        f"processing.run failed:\n{record.get('error')}\n{record.get('feedback_log', '')[-1500:]}"
    )
    layer = record["layer"]
    assert layer["valid"] and layer["feature_count"] >= 1 and layer["all_polygons"], (
        f"output {record['output']}: {layer}"
    )
    assert layer["phrases"] == [EXAMPLE_PHRASE], layer["phrases"]
    assert layer["all_within_raster"] and layer["all_area_m2_positive"], layer
    answer = record.get("answer") or ""
    assert _count_in_answer(answer, layer["feature_count"]), f"ANSWER {answer!r} does not say {layer['feature_count']}"
    assert record.get("dialog_saved"), record.get("dialog_error")


def test_project_saved_with_results_beside_it(desktop):
    record = _step(desktop, "first", "save")
    assert record.get("project_exists"), f"no project file {PROJECT}: {record}"
    assert record.get("saved_with_save_as"), f"Save As did not save (dialog: {record.get('save_as_dialog')})"
    assert record.get("dirty_after") is False, "the project is modified again right after saving"
    result = _first_result(desktop)
    assert record["result_sources_in_temporary_folder"] == [], (
        f"after saving, result layers still read the temporary folder: {record['result_sources_in_temporary_folder']}"
    )
    layers = record.get("results_gpkg_layers") or {}
    assert result["name"] in layers, f"{record['results_gpkg_beside_project']} holds {list(layers)}"
    assert layers[result["name"]]["feature_count"] == result["feature_count"]


# ------------------------------------------------------------------------------------------------- second launch
def test_reopened_project_has_no_unavailable_layers(desktop):
    record = _step(desktop, "second", "open_project")
    assert record["temporary_geoground_exists"] is False, "the temporary folder was not a fresh one"
    assert record.get("add_project"), "iface.addProject returned False"
    assert not record["handle_unavailable_layers_shown"], (
        f"QGIS asked to handle unavailable layers: {record['modal_dialogs']}"
    )
    assert record["invalid_layers"] == [], f"invalid layers after reopening: {record['invalid_layers']}"


def test_reopened_project_keeps_the_result_layers(desktop):
    result = _first_result(desktop)
    record = _step(desktop, "second", "open_project")
    reopened = {layer["name"]: layer for layer in record["result_layers"]}
    assert result["name"] in reopened, f"result layer {result['name']} missing; result layers now: {list(reopened)}"
    again = reopened[result["name"]]
    assert again["valid"] and again["feature_count"] == result["feature_count"], again
    first_processing = _step(desktop, "first", "processing")
    names = {layer["name"]: layer for layer in record["layers"]}
    for algorithm in ("segmentbyinstruction", "describewithgroundedmasks"):
        before = first_processing.get(algorithm, {}).get("layer")
        if before and before["valid"]:
            assert names.get(before["name"], {}).get("feature_count") == before["feature_count"], algorithm


def test_reopened_project_keeps_the_conversation(desktop):
    first_turns = _step(desktop, "first", "chat").get("controller_turns") or []
    answers = [turn["text"] for turn in first_turns if turn["role"] == "assistant" and turn["text"]]
    assert answers, f"the first launch's conversation has no answer: {first_turns}"
    record = _step(desktop, "second", "open_project")
    shown = record.get("conversation") or ""
    assert INSTRUCTION in shown, f"the reopened dock shows {shown!r}"
    for answer in answers:
        assert answer.strip() in shown, f"answer {answer!r} not in the reopened dock: {shown!r}"


def test_export_reads_back(desktop):
    result = _first_result(desktop)
    record = _step(desktop, "second", "export")
    assert record.get("exists"), f"no export at {EXPORT}; dock: {record.get('conversation_after')!r}"
    layers = record["layers"]
    assert result["name"] in layers, f"the export holds {list(layers)}"
    assert layers[result["name"]]["feature_count"] == result["feature_count"]
    assert all(area and area > 0 for area in layers[result["name"]]["areas_m2"]), layers[result["name"]]
    rows = layers.get("conversation", {}).get("rows", [])
    assert any(row.get("role") == "user" and row.get("text") == INSTRUCTION for row in rows), rows
    assert any(row.get("role") == "assistant" and (row.get("text") or "").strip() for row in rows), rows


# ------------------------------------------------------------------------------------------------- both
def test_screenshots_show_the_map(desktop):
    from PIL import Image, ImageStat

    shots = {
        f"{phase}/{name}": shot
        for phase in ("first", "second")
        for name, shot in _phase(desktop, phase)["screenshots"].items()
    }
    for step in ("first/raster", "first/chat", "first/saved", "second/reopened", "second/exported"):
        assert step in shots, f"no screenshot of {step}; taken: {list(shots)}"
    for name, shot in shots.items():
        path = Path(shot["path"])
        assert shot["saved"] and path.is_file(), f"{name}: {path} was not written"
        if not shot["layers_on_canvas"]:  # before the raster was opened
            continue
        x, y, w, h = shot["canvas_rect"]
        with Image.open(path) as image:
            assert image.size[0] >= 1000, f"{name}: {image.size}"
            canvas = image.convert("L").crop((x, y, x + w, y + h))
            spread = ImageStat.Stat(canvas).stddev[0]
        assert shot["canvas_visible"] and spread > 10, (
            f"{name}: the map area of {path} looks blank (stddev {spread:.1f})"
        )


def test_no_python_errors_from_the_plugin(desktop):
    errors = [
        f"{phase} @ {entry['step']}: {entry['message'][:600]}"
        for phase in ("first", "second")
        for entry in _phase(desktop, phase)["log"]
        if entry["tag"] == "Python error" and "geoground" in entry["message"].lower()
    ]
    assert not errors, "\n".join(errors)
