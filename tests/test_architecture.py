"""The drawn structure holds: every module parsed with ``ast``, its imports (lazy ones inside
functions too; type-only ones under ``if TYPE_CHECKING`` apart) checked against the layers,
no import circle, Gradio only in the UI, nothing heavy loaded at import, app.py only UI.

Layers, from the bottom (a package imports only those listed for it):

    core                      image -> faces -> crops -> model -> result; imports nothing else
    models, video, journal    core (live: core and video)
    cli                       core, models, video
    batch                     core, models, video, cli (its shared options)
    training                  core, models
    serving                   core, models, video, live, journal (never Gradio, ui or app)
    ui/, app.py               Gradio, serving and core (app.py: ui too)
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.unit

PACKAGE = "emotion_recognition"
ALLOWED = {
    "core": {"core"},
    "models": {"core", "models"},
    "video": {"core", "video"},
    "live": {"core", "video", "live"},
    "journal": {"core", "journal"},
    "cli": {"core", "models", "video", "cli"},
    "batch": {"core", "models", "video", "cli", "batch"},
    "training": {"core", "models", "training"},
    "serving": {"core", "models", "video", "live", "journal", "serving"},
}
UI_ALLOWED = {"core", "serving"}
HEAVY = ("keras", "tensorflow", "ray", "huggingface_hub", "matplotlib", "gradio", "torch")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    """Every module of the package, of ui/, and app.py, by dotted name."""
    files = [*(ROOT / PACKAGE).rglob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"]
    return {module_name(path): path for path in files}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (type-only imports)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside |= {id(child) for statement in node.body for child in ast.walk(statement)}
    return inside


def imports_of(path: Path, known: set[str]) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import that runs (not type-only);
    ``from a import b`` names a.b when that is a module of ours."""
    tree = ast.parse(path.read_text())
    type_only = _type_checking_nodes(tree)
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.append((child if child in known else node.module, id(node) in top))
    return found


def first_party_graph() -> dict[str, set[str]]:
    modules = our_modules()
    known = set(modules)
    return {name: {target for target, _ in imports_of(path, known) if target in known}
            for name, path in modules.items()}


def layer(module: str) -> str:
    """core, video, ... for a module of the package; "ui" for ui/; "app" for app.py."""
    parts = module.split(".")
    if parts[0] == PACKAGE:
        return parts[1] if len(parts) > 1 else ""
    return parts[0]


def test_every_package_imports_only_the_layers_below_it():
    broken = []
    for module, targets in first_party_graph().items():
        own = layer(module)
        for target in targets:
            to = layer(target)
            if own in ALLOWED:
                ok = target.startswith(PACKAGE) and to in ALLOWED[own]
            elif own == "ui":
                ok = to in UI_ALLOWED | {"ui"}
            elif own == "app":
                ok = to in UI_ALLOWED | {"ui"}
            else:  # emotion_recognition/__init__.py
                ok = False
            if not ok:
                broken.append(f"{module} imports {target}")
    assert broken == []


def test_there_is_no_import_circle():
    graph = first_party_graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert circles == []


def test_the_rules_are_checked_on_the_whole_package():
    """The graph sees every module (so the rules above cannot pass by missing some), and the
    layers it finds are exactly the ones drawn."""
    graph = first_party_graph()
    assert len(graph) >= 80
    layers = {layer(m) for m in graph if m.startswith(f"{PACKAGE}.")}
    assert layers == set(ALLOWED)
    assert "emotion_recognition.core.pipeline" in graph["emotion_recognition.serving.photo"] | {
        t for m in graph if m.startswith("emotion_recognition.serving") for t in graph[m]}


def test_gradio_only_in_the_ui_and_nothing_heavy_at_import():
    modules, known = our_modules(), set(our_modules())
    for module, path in modules.items():
        for target, at_top in imports_of(path, known):
            root = target.split(".")[0]
            if root == "gradio" or target.startswith("starlette"):
                assert layer(module) in ("ui", "app", "serving"), (module, target)
                assert root != "gradio" or layer(module) in ("ui", "app"), (module, target)
            if at_top and root in HEAVY and layer(module) not in ("ui", "app", "training"):
                pytest.fail(f"{module} imports {target} when it is imported")


def test_importing_the_package_and_the_app_loads_no_model_and_makes_no_folder(tmp_path):
    """Every module but the training ones (and batch's pyarrow stages) imported, then app.py:
    no TensorFlow, Keras, Ray or Hub client loaded, no server folder made, no setting
    changed: build_demo() does all of that."""
    names = [m for m in our_modules() if m.startswith(PACKAGE) and layer(m) != "training"
             and m not in ("emotion_recognition.batch.stages", "emotion_recognition.batch.output")]
    code = ("import os, sys\n" + "".join(f"import {name}\n" for name in names)
            + "heavy = sorted(m for m in ('keras', 'tensorflow', 'ray', 'huggingface_hub') "
              "if m in sys.modules)\n"
            + "import app\n"
            + "print(heavy, os.listdir(os.environ['EMOTION_CACHE_DIR']), "
              "'GRADIO_TEMP_DIR' in os.environ)\n")
    env = {"PATH": "/usr/bin:/bin", "EMOTION_CACHE_DIR": str(tmp_path), "HOME": str(tmp_path),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[-2] == "[] [] False"


def test_app_py_holds_only_the_page():
    """app.py: imports, constants and two functions (build_demo, launch), then the guarded
    launch; every event handler lives in a ui/ tab module and calls serving."""
    tree = ast.parse((ROOT / "app.py").read_text())
    kinds = [type(node).__name__ for node in tree.body]
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert functions == ["build_demo", "launch"] and "ClassDef" not in kinds
    assert isinstance(tree.body[-1], ast.If) and "__main__" in ast.unparse(tree.body[-1].test)
    assert set(kinds) <= {"Expr", "ImportFrom", "Import", "Assign", "FunctionDef", "If"}
    assert len((ROOT / "app.py").read_text().splitlines()) <= 300


def test_every_subpackage_is_installed():
    """pyproject's package list names every folder of the package that holds modules."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {module_name(init.parent / "__init__.py")
               for init in (ROOT / PACKAGE).rglob("__init__.py")}
    assert folders <= listed and listed - folders == {"emotion_recognition.models.served"}


def test_every_name_imported_from_the_project_exists():
    """Lazy imports inside functions (benchmarks, scripts, tests, the package) name things
    that still exist: a move (issue 16) broke benchmarks.speed this way, unseen until run."""
    import importlib

    sys.path.insert(0, str(ROOT))
    missing = []
    files = [ROOT / "app.py", *(path for folder in (PACKAGE, "ui", "benchmarks", "scripts", "tests")
                                for path in (ROOT / folder).rglob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                    and node.module.split(".")[0] in (PACKAGE, "ui", "benchmarks")):
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name) and importlib.util.find_spec(
                        f"{node.module}.{alias.name}") is None:
                    missing.append(f"{path.relative_to(ROOT)}: {node.module}.{alias.name}")
    assert missing == []


@pytest.mark.parametrize("document", ["README.md", "model/README.md"])
def test_every_module_the_docs_name_exists(document):
    """A `name.py` in the README or the model card is a file of the project (a move, issue
    16, left three video modules named by their old names)."""
    tracked = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    named = set(re.findall(r"`([\w./-]+\.py)`", (ROOT / document).read_text()))
    missing = [name for name in named
               if not any(path == name or path.endswith("/" + name) for path in tracked)]
    assert missing == []
