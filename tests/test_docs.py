"""Every file, module and command a reader is pointed to exists, and no document names a
place outside the repository.

Documents: every Markdown file of the project (README.md, CONTRIBUTING.md, docs/*.md, the
model card, the READMEs beside data files) and the comments of requirements*.txt. In each:

- a path into the project (its first part a top-level entry of the repository, such as
  `benchmarks/figures/*.json`, or a folder of the package, such as `core/crops.py`), a link
  or image (and the heading its #anchor names), and a bare `name.py` must exist;
- `python -m MODULE` must name a module of the project that runs as a program, or an
  installed one; `emotion-...` a console script of pyproject.toml; `-m TIER` a pytest tier;
- no absolute path of a machine, no `..` out of the repository in a command.

Files that show code (the package, benchmarks, scripts, tools, tests, the notebook) must not
name the places this project happens to be built in either.
"""

from __future__ import annotations

import ast
import configparser
import contextlib
import functools
import importlib
import importlib.util
import io
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.unit

PACKAGE = ROOT / "emotion_recognition"
# Package folders that documents name on their own ("core/crops.py", "video/guided.py").
SUBPACKAGES = {p.parent.relative_to(PACKAGE).as_posix()
               for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE}
TEXT_SUFFIXES = {".md", ".py", ".sh", ".txt", ".ipynb", ".toml", ".ini", ".cfg", ".yml", ".yaml"}
# Code files may build a temporary folder of their own (/tmp/...), but never name the
# folders of the machines the project is built on.
BUILDERS_PLACES = re.compile(r"\.\./shared\b|(?<![\w.])/work/")
ABSOLUTE = re.compile(r"(?<![\w.:/~-])(?:/(?:home|work|tmp|usr|opt|mnt|root|etc|var|srv|data|"
                      r"Users|private|media|scratch|shared|content|kaggle)(?:/|\b)|[A-Za-z]:\\)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PATH = re.compile(r"(?<![\w./:@-])((?:[\w.-]+/)+[\w.*-]*)")
BARE_FILE = re.compile(r"(?<![\w./-])([\w-]+\.(?:py|sh|ipynb|toml|ini))\b")
MODULE = re.compile(r"\bpython[\d.]*\s+-m\s+([A-Za-z_][\w.]*)")
SCRIPT = re.compile(r"\bpython[\d.]*\s+([\w./-]+\.py)\b|\bbash\s+([\w./-]+\.sh)\b")
CONSOLE = re.compile(r"(?:^|[\s`(;&|])(emotion-[a-z]+)\b(?![.\w-])")
TIER = re.compile(r"(?:pytest|scripts/test\.sh)\b[^\n`]*?\s-m\s+(\"[^\"]+\"|'[^']+'|\w+)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\0")
    return [ROOT / name for name in listed if name and (ROOT / name).is_file()]


def documents() -> dict[str, str]:
    """{path relative to the root: text} of every document a reader reads."""
    found = {}
    for path in tracked_files():
        relative = path.relative_to(ROOT).as_posix()
        if path.suffix == ".md":
            found[relative] = path.read_text()
        elif re.fullmatch(r"requirements[\w-]*\.txt", relative):
            found[relative] = "\n".join(line.partition("#")[2] for line in
                                        path.read_text().splitlines() if "#" in line)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(path.read_text())}


def _exists(relative: str, base: Path = ROOT) -> bool:
    target = relative.rstrip("/")
    if any(c in target for c in "*?["):
        return any(base.glob(target))
    return (base / target).exists()


def broken_links(name: str, text: str) -> list[str]:
    """Links and images that lead nowhere, out of the repository, or to a missing heading."""
    folder = (ROOT / name).parent
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (folder / file).resolve() if file else ROOT / name
        if not path.is_relative_to(ROOT) or not path.exists():
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(target)
    return broken


def missing_paths(text: str) -> list[str]:
    """Paths into the project, and bare file names of code, that do not exist."""
    text = LINK.sub("", text)
    top = {p.relative_to(ROOT).parts[0] for p in tracked_files()}  # not runs/, .venv/ ...
    missing = []
    for path in PATH.findall(text):
        first = path.split("/")[0]
        if first in top:
            ok = _exists(path)
        elif path.split("/")[0] in {s.split("/")[0] for s in SUBPACKAGES}:
            ok = _exists(path, PACKAGE) or _exists(path)
        else:
            continue  # a user's own file (runs/..., data/..., photos/) or another project's
        if not ok:
            missing.append(path)
    names = {p.name for p in tracked_files()}
    missing += [name for name in BARE_FILE.findall(PATH.sub("", text)) if name not in names]
    return missing


def _runnable(module: str) -> bool:
    """A module of the project that runs with python -m (a __main__ guard, or a package's
    __main__.py), or any installed module."""
    file = ROOT / Path(*module.split("."))
    if module.split(".")[0] in {p.name for p in ROOT.iterdir() if p.is_dir()}:
        if (file / "__main__.py").is_file():
            return True
        if not file.with_suffix(".py").is_file():
            return False
        tree = ast.parse(file.with_suffix(".py").read_text())
        return any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
                   for node in tree.body)
    return importlib.util.find_spec(module) is not None


def code(text: str) -> str:
    """The fenced blocks and inline code spans of a document, one per line."""
    blocks = re.findall(r"```[^\n]*\n(.*?)```", text, re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    return "\n".join(blocks + spans)


def broken_commands(text: str) -> list[str]:
    """python -m modules, scripts, console scripts and pytest tiers that do not exist."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    parser = configparser.ConfigParser()
    parser.read(ROOT / "pytest.ini")
    tiers = {line.split(":")[0].strip() for line in parser["pytest"]["markers"].splitlines()
             if line.strip()}
    broken = [f"python -m {m}" for m in MODULE.findall(text) if not _runnable(m)]
    broken += [s for pair in SCRIPT.findall(text) for s in pair if s and not _exists(s)]
    broken += [c for c in CONSOLE.findall(code(text)) if c not in scripts]
    for settings, script in re.findall(r"((?:\b[A-Z][A-Z_]+=\S*\s+)+)bash\s+([\w./-]+\.sh)", text):
        if _exists(script):  # the settings a script is given are ones it reads
            broken += [f"{name} for {script}" for name in re.findall(r"([A-Z][A-Z_]+)=", settings)
                       if name not in (ROOT / script).read_text()]
    for expression in TIER.findall(text):
        words = set(re.findall(r"\w+", expression)) - {"not", "and", "or"}
        broken += [f"-m {word}" for word in words if word not in tiers]
    return broken


def _options_of(module: str) -> set[str]:
    """Every "--option" string in a module of the project and the project's modules it
    imports (shared options such as cli/options.py's)."""
    file = ROOT / Path(*module.split("."))
    # a module file comes before a folder of the same name without __init__.py (Python's order)
    file = file.with_suffix(".py") if file.with_suffix(".py").is_file() else file / "__main__.py"
    sources = [file.read_text()]
    for node in ast.walk(ast.parse(sources[0])):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported = ROOT / Path(*node.module.split("."))
            if imported.with_suffix(".py").is_file():
                sources.append(imported.with_suffix(".py").read_text())
    return {o for source in sources for o in re.findall(r"[\"'](--[\w-]+)[\"']", source)}


@functools.cache
def _help_options(module: str) -> frozenset[str]:
    """The options a command's --help lists (for options built from data, such as
    training.train's from its settings), its main(["--help"]) run in process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        importlib.import_module(module).main(["--help"])
    return frozenset(re.findall(r"(?<![\w-])(--[\w-]+)", out.getvalue()))


def unknown_options(text: str) -> list[str]:
    """Options given to the project's commands (python -m ..., emotion-...) in code that the
    command does not have."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    ours = {p.name for p in ROOT.iterdir() if p.is_dir()}
    unknown = []
    for line in code(text).replace("\\\n", " ").splitlines():
        for command in re.split(r"&&|\|\|?|;", line.partition("#")[0]):
            module = MODULE.search(command)
            console = CONSOLE.search(command)
            if module and module[1].split(".")[0] in ours:
                name, rest = module[1], command[module.end():]
            elif console and console[1] in scripts:
                name, rest = scripts[console[1]].split(":")[0], command[console.end():]
            else:
                continue
            if not _runnable(name):
                continue  # broken_commands reports it
            given = set(re.findall(r"(?<![\w-])(--[\w-]+)", rest)) - _options_of(name) - {"--help"}
            unknown += [f"{name} {o}" for o in given if o not in _help_options(name)]
    return sorted(set(unknown))


def outside_places(text: str) -> list[str]:
    """Absolute paths, and paths that climb out of the repository (outside links' targets,
    which broken_links checks)."""
    text = LINK.sub("", text)
    found = [m.group(0) for m in ABSOLUTE.finditer(text)]
    found += re.findall(r"(?<![\w.])\.\./[\w./-]*", text)
    return found


@pytest.fixture(scope="module")
def docs() -> dict[str, str]:
    return documents()


def test_the_documents_are_all_read(docs):
    assert {"README.md", "CONTRIBUTING.md", "model/README.md", "requirements.txt",
            "emotion_recognition/core/detection/blazeface_models/README.md"} <= set(docs)
    assert {"docs/limits-and-safety.md", "docs/privacy.md", "docs/benchmarks.md",
            "docs/training.md", "docs/batch.md", "docs/journal.md",
            "docs/architecture.md"} <= set(docs)


CHECKS = {"links lead to a file and heading of the project": broken_links,
          "paths named exist": lambda name, text: missing_paths(text),
          "modules, scripts, console scripts and tiers named exist":
              lambda name, text: broken_commands(text),
          "options given to the project's commands exist": lambda name, text: unknown_options(text),
          "no place outside the repository": lambda name, text: outside_places(text)}


@pytest.mark.parametrize("check", CHECKS)
def test_every_document_passes(docs, check):
    failed = {name: found for name, text in docs.items() if (found := CHECKS[check](name, text))}
    assert failed == {}


def test_no_file_names_the_folders_of_the_machines_it_was_built_on():
    """Docstrings, comments, scripts and the notebook speak to users: their data is an
    argument (--data fer2013.zip), never a folder of ours."""
    named = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path in tracked_files()
             if path.suffix in TEXT_SUFFIXES and path.name != "test_docs.py"
             for m in BUILDERS_PLACES.finditer(path.read_text(errors="replace"))]
    assert named == []


def test_the_architecture_page_draws_the_real_tree():
    """Each file and folder of docs/architecture.md's tree exists where the tree puts it."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    tree = text[text.index("```", text.index("## Where each thing lives")) + 4:]
    tree = tree[:tree.index("```")]
    folders: list[str] = []
    checked, missing = 0, []
    for line in tree.splitlines():
        indent = len(line) - len(line.lstrip())
        if not line.strip() or indent >= 20:  # a description that runs on
            continue
        names = re.split(r",\s*", re.split(r"\s{2,}", line.strip())[0])
        folders = folders[:indent // 2]
        for name in names:
            path = "/".join([*folders, name]).rstrip("/")
            checked += 1
            if not (ROOT / path).exists():
                missing.append(path)
        if names[-1].endswith("/"):
            folders.append(names[-1].rstrip("/"))
    assert checked > 80 and missing == []


def test_the_readme_is_a_front_page_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150  # about two minutes of reading
    assert ("python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && "
            ".venv/bin/python app.py") in text
    assert "\nbash scripts/test.sh\n" in text
    front = text.split("---")[1]
    assert "app_file: app.py" in front and "sdk: gradio" in front


def test_the_checks_catch_what_they_look_for(tmp_path):
    """Each check finds a planted mistake, so the tests above pass for a reason."""
    assert missing_paths("see `emotion_recognition/core/nothing.py`") == [
        "emotion_recognition/core/nothing.py"]
    assert missing_paths("in `core/nowhere.py` and `gone.py`") == ["core/nowhere.py", "gone.py"]
    assert missing_paths("`benchmarks/figures/*.json`, `core/crops.py`, runs/gpu/x.tar") == []
    assert broken_links("docs/x.md", "[a](../README.md#no-such-heading) [b](nothing.md)") == [
        "../README.md#no-such-heading", "nothing.md"]
    assert broken_links("docs/x.md", "[a](../README.md#two-commands-for-a-fresh-machine)") == []
    assert broken_commands("python -m emotion_recognition.core.limits; `emotion-nothing x`\n"
                           "bash scripts/test.sh -m quick; tags: emotion-recognition") == [
        "python -m emotion_recognition.core.limits", "emotion-nothing", "-m quick"]
    assert broken_commands("JOB_SECONDS=60 TIME=9 bash scripts/gpu_train.sh runs/gpu") == [
        "TIME for scripts/gpu_train.sh"]
    assert broken_commands("python -m emotion_recognition.cli.photo a.jpg; `emotion-batch x`\n"
                           'bash scripts/test.sh -m "not training"') == []
    assert unknown_options("```\npython -m emotion_recognition.training.train --data a \\\n"
                           "    --no-such-option 3   # --not-an-option\n"
                           "emotion-photo x --csv y --colour z\n```") == [
        "emotion_recognition.cli.photo --colour",
        "emotion_recognition.training.train --no-such-option"]
    assert unknown_options("`emotion-photo x --detector combined --model-dir m`") == []
    shared = "../" + "shared/data/fer2013.zip"
    assert outside_places(f"--data {shared} or /home/me/fer2013.zip, not the /analyze route") == [
        "/home/", shared]
    assert BUILDERS_PLACES.search(f"python -m x --data {shared}")


def test_the_architecture_page_states_the_layers_the_test_enforces():
    """docs/architecture.md's table of layers is test_architecture.ALLOWED, package by package."""
    from test_architecture import ALLOWED, UI_ALLOWED

    text = (ROOT / "docs" / "architecture.md").read_text()
    table = {m[1]: set(re.findall(r"\b(\w+)\b", m[2].split("(")[0])) - {"nothing", "else", "of",
                                                                          "the", "project"}
             for m in re.finditer(r"^\| `(\w+)` \| ([^|]+) \|", text, re.M)}
    assert table == {name: allowed - {name} for name, allowed in ALLOWED.items()}
    ui_row = re.search(r"^\| `ui/`, `app.py` \| ([^|(]+)", text, re.M)[1]
    assert set(re.findall(r"\w+", ui_row)) == UI_ALLOWED
