"""The installable package: the wheel holds the code, the served models and the command
lines; once installed (scripts/test.sh installs it), the API works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

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
    for name in ("emotion7.keras", "emotion4.keras", "labels.json"):
        packaged = zipfile.ZipFile(wheel).read(f"emotion_recognition/model/{name}")
        assert packaged == (ROOT / "model" / name).read_bytes()
    assert {"emotion_recognition/pipeline.py", "emotion_recognition/batch.py",
            "emotion_recognition/training/train.py",
            "emotion_recognition/data/suggestions.csv"} <= names  # the journal's suggestions
    for name in ("face_detection_short_range.tflite", "face_detection_full_range.tflite",
                 "LICENSE", "README.md"):  # the face detector's models, with their licence
        packaged = zipfile.ZipFile(wheel).read(f"emotion_recognition/data/blazeface/{name}")
        assert packaged == (ROOT / "emotion_recognition" / "data" / "blazeface" / name).read_bytes()
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    for line in ("emotion-photo = emotion_recognition.cli:main",
                 "emotion-video = emotion_recognition.video_cli:main",
                 "emotion-batch = emotion_recognition.batch:main"):
        assert line in scripts


def test_the_readme_example_runs_from_another_folder(tmp_path):
    code = ("from emotion_recognition.pipeline import EmotionRecognizer\n"
            "recognizer = EmotionRecognizer()\n"
            f"result = recognizer.analyze({str(EXAMPLES / 'astronaut.jpg')!r}, emotion_set='emotion7')\n"
            "print(len(result.faces), result.faces[0].to_dict()['label'], recognizer.model_source)\n")
    env = {**outside_env(), "EMOTION_MODEL_REPO": ""}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    count, label, *source = done.stdout.split()
    assert int(count) == 1 and label in {"angry", "disgust", "fear", "happy", "sad", "surprise",
                                         "neutral"}
    assert "bundled" in source


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
