"""The installable package: the wheel holds the code, the served models and the command
lines; once installed (scripts/test.sh installs it), the API works from any folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.unit

BIN = Path(sys.executable).parent


def outside_env() -> dict:
    """The environment of a user's shell: no PYTHONPATH pointing into the repository."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}


def test_wheel_holds_code_models_and_command_lines(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next(tmp_path.glob("emotion_recognition-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("emotion7.keras", "emotion4.keras", "labels.json", "litert.json",
                 "network_int8.tflite"):  # the reference models and the served LiteRT file
        packaged = zipfile.ZipFile(wheel).read(f"emotion_recognition/models/served/{name}")
        assert packaged == (ROOT / "model" / name).read_bytes()
    code = {str(p.relative_to(ROOT)) for p in (ROOT / "emotion_recognition").rglob("*.py")}
    assert code <= names  # every module of every subpackage
    assert "emotion_recognition/journal/suggestions.csv" in names  # the journal's suggestions
    models = ROOT / "emotion_recognition" / "core" / "detection" / "blazeface_models"
    for name in ("face_detection_short_range.tflite", "face_detection_full_range.tflite",
                 "LICENSE", "README.md"):  # the face detector's models, with their licence
        packaged = zipfile.ZipFile(wheel).read(f"{models.relative_to(ROOT)}/{name}")
        assert packaged == (models / name).read_bytes()
    assert not any(n.startswith(("ui/", "app.py", "tests/")) for n in names)  # the app stays out
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    for line in ("emotion-photo = emotion_recognition.cli.photo:main",
                 "emotion-video = emotion_recognition.cli.video:main",
                 "emotion-batch = emotion_recognition.batch.command:main"):
        assert line in scripts


def readme_block(after: str) -> str:
    """The first fenced code block of README.md after the line holding ``after``."""
    text = (ROOT / "README.md").read_text()
    start = text.index("```", text.index(after))
    start = text.index("\n", start) + 1
    return text[start:text.index("```", start)]


def test_the_readme_example_runs_from_another_folder(tmp_path):
    """README's in-process Python examples, as written (the API, a video's rows, then the
    journal), on a group photo, a clip and a journal export."""
    from conftest import write_video
    from emotion_recognition.journal import entries as journal

    shutil.copy(EXAMPLES / "three_faces.jpg", tmp_path / "group.jpg")
    write_video(tmp_path / "clip.mp4", frames=20, fps=10)
    earlier = journal.new_entry([{"angry": 0.0, "happy": 0.9, "sad": 0.1, "neutral": 0.0}],
                                "live", "earlier", "2025-01-31T08:15:00+01:00")
    (tmp_path / "my-journal.csv").write_text(journal.to_csv(journal.add([], earlier)))
    code = (readme_block("**From Python, in-process:**")
            + readme_block("**The journal and suggestions from Python**"))
    env = {**outside_env(), "EMOTION_MODEL_REPO": ""}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 3 and all("'probabilities'" in line for line in printed)
    rows = (tmp_path / "clip.csv").read_text().splitlines()
    assert rows[0].startswith("source,kind,status,face_count,face,frame,time_s,") and len(rows) > 1
    assert "time,source,emotion_set,emotion,note" in done.stdout and "earlier" in done.stdout
    assert {"activity", "music", "place", "film"} <= {line.split()[0] for line in
                                                     done.stdout.splitlines() if line}


@pytest.mark.parametrize("script", ["emotion-photo", "emotion-video", "emotion-batch"])
def test_console_scripts_are_installed(tmp_path, script):
    done = subprocess.run([str(BIN / script), "--help"], cwd=tmp_path, env=outside_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_package_requires_what_the_app_requirements_pin():
    """Every package requirements.txt pins for the app (but Gradio and the plots the app
    alone uses) is a dependency of the installable package: emotion-video needs av."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {re.split(r"[<>=!~\[ ]", d)[0].lower().replace("_", "-")
                for d in project["dependencies"]}
    pinned = {re.split(r"[<>=!~\[ ]", line)[0].lower().replace("_", "-")
              for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert pinned - required <= {"gradio", "matplotlib"} and "av" in required
