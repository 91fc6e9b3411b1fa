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


def readme_block(after: str, document: str = "README.md") -> str:
    """The first fenced code block of a document (README.md) after the line holding ``after``."""
    text = (ROOT / document).read_text()
    start = text.index("```", text.index(after))
    start = text.index("\n", start) + 1
    return text[start:text.index("```", start)]


def test_the_readme_example_runs_from_another_folder(tmp_path):
    """README's in-process Python example, as written, then docs/journal.md's (the journal),
    on a group photo and a journal export."""
    from conftest import write_video
    from emotion_recognition.journal import entries as journal

    shutil.copy(EXAMPLES / "three_faces.jpg", tmp_path / "group.jpg")
    write_video(tmp_path / "clip.mp4", frames=20, fps=10)
    earlier = journal.new_entry([{"angry": 0.0, "happy": 0.9, "sad": 0.1, "neutral": 0.0}],
                                "live", "earlier", "2025-01-31T08:15:00+01:00")
    (tmp_path / "my-journal.csv").write_text(journal.to_csv(journal.add([], earlier)))
    code = (readme_block("## From Python, in-process")
            + readme_block("## From Python", "docs/journal.md"))
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


def test_the_readme_command_lines_run_from_another_folder(tmp_path):
    """README's command lines, as written, with the installed console scripts: the photo and
    video ones run on a group photo, a folder and a clip; the batch one (Ray: its own tests,
    tests/test_batch.py) is parsed by its own parser."""
    import shlex

    from conftest import write_video
    from emotion_recognition.batch.command import build_parser

    (tmp_path / "photos").mkdir()
    shutil.copy(EXAMPLES / "grace_hopper.jpg", tmp_path / "photos" / "hopper.jpg")
    shutil.copy(EXAMPLES / "three_faces.jpg", tmp_path / "group.jpg")
    write_video(tmp_path / "clip.mp4", frames=20, fps=10)
    lines = readme_block("## From the command line").strip().splitlines()
    assert [line.split()[0] for line in lines] == ["emotion-photo", "emotion-video", "emotion-batch"]
    env = {**outside_env(), "EMOTION_MODEL_REPO": ""}
    for line in lines[:2]:
        command, *args = shlex.split(line)
        done = subprocess.run([str(BIN / command), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    rows = (tmp_path / "faces.csv").read_text().splitlines()
    assert len(rows) == 1 + 1 + 3 and {row.split(",")[0] for row in rows[1:]} == {
        "photos/hopper.jpg", "group.jpg"}
    assert len(list((tmp_path / "out").iterdir())) == 2
    assert {p.suffix for p in (tmp_path / "results").iterdir()} >= {".csv"}
    batch = build_parser().parse_args(shlex.split(lines[2])[1:])
    assert batch.out == "results.parquet" and batch.csv is not None


@pytest.mark.parametrize("script", ["emotion-photo", "emotion-video", "emotion-batch"])
def test_console_scripts_are_installed(tmp_path, script):
    done = subprocess.run([str(BIN / script), "--help"], cwd=tmp_path, env=outside_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_package_requires_what_the_app_requirements_pin():
    """Every package requirements.txt pins for the app (but Gradio and its web framework and
    upload parser, which only the app, its ui/ and serving/ use) is a dependency of the installable package:
    emotion-video needs av."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {re.split(r"[<>=!~\[ ]", d)[0].lower().replace("_", "-")
                for d in project["dependencies"]}
    pinned = {re.split(r"[<>=!~\[ ]", line)[0].lower().replace("_", "-")
              for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert pinned - required <= {"gradio", "starlette", "fastapi", "python-multipart"}
    assert "av" in required


APP_CODE = ["emotion_recognition/core", "emotion_recognition/models", "emotion_recognition/video",
            "emotion_recognition/live", "emotion_recognition/journal", "emotion_recognition/cli",
            "emotion_recognition/serving", "ui", "app.py"]
OWN = {"emotion_recognition", "ui", "app", "benchmarks", "conftest", "crafted", "tools"}


def normalized(name: str) -> str:
    return name.lower().replace("_", "-")


def imported_distributions(paths: list[str], optional: bool = True) -> set[str]:
    """The installed distributions whose modules the code under ``paths`` imports (without
    ``optional``: leaving out imports inside a try whose ImportError is handled)."""
    import ast
    import importlib.metadata

    owners = importlib.metadata.packages_distributions()
    found: set[str] = set()

    def visit(node, guarded: bool) -> None:
        if isinstance(node, ast.Try):
            handled = any(h.type is None or "ImportError" in ast.unparse(h.type)
                          or "ModuleNotFoundError" in ast.unparse(h.type) for h in node.handlers)
            for child in node.body:
                visit(child, guarded or handled)
            for child in (*node.handlers, *node.orelse, *node.finalbody):
                visit(child, guarded)
            return
        names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and not node.level else [])
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in OWN and top in owners \
                    and (optional or not guarded):
                found.add(normalized(owners[top][0]))
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    for name in paths:
        path = ROOT / name
        for file in (sorted(path.rglob("*.py")) if path.is_dir() else [path]):
            visit(ast.parse(file.read_text()), False)
    return found


def requirements(name: str) -> dict[str, str]:
    """A requirements file's packages (with the files it includes) -> their specifiers."""
    import re

    found = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found.update(requirements(line[3:].strip()))
        elif line:
            package, specifier = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(.*)", line).groups()
            found[normalized(package)] = specifier
    return found


def test_the_app_requirements_are_what_the_app_imports():
    """requirements.txt names every package the app's code imports (starlette: serving/)
    and nothing it does not (matplotlib: only training draws plots)."""
    app = requirements("requirements.txt")
    assert imported_distributions(APP_CODE, optional=False) <= set(app)
    assert set(app) <= imported_distributions(APP_CODE) | {"tensorflow-cpu"}  # keras' backend
    assert "matplotlib" not in app and "starlette" in app


def test_batch_tests_and_training_declare_what_they_import():
    batch = requirements("requirements-batch.txt") | requirements("requirements.txt")
    assert imported_distributions(["emotion_recognition/batch"], optional=False) <= set(batch)
    assert imported_distributions(["tests"], optional=False) <= set(requirements("requirements-dev.txt"))
    assert "matplotlib" in requirements("requirements-train.txt")
    assert {"pyyaml", "httpx"} <= set(requirements("requirements-dev.txt"))


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-batch.txt",
                                  "requirements-train.txt", "requirements-dev.txt"])
def test_requirements_are_pinned_within_the_package_ranges(name):
    """Each requirements file pins every package (the versions tested), and each pin lies
    within the range pyproject.toml gives that package (dependencies and extras)."""
    import re
    import tomllib

    from packaging.specifiers import SpecifierSet

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = {}
    for line in [*project["dependencies"], *sum(project["optional-dependencies"].values(), [])]:
        package, specifier = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(.*)", line).groups()
        ranges[normalized(package)] = SpecifierSet(specifier)
    for package, specifier in requirements(name).items():
        assert re.fullmatch(r"==[0-9][0-9A-Za-z.]*", specifier), (package, specifier)
        if package in ranges:
            assert specifier[2:] in ranges[package], (package, specifier, ranges[package])
