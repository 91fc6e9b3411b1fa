"""Model shipping: the served model as bytes, resolved once by the driver, loaded by every
Ray worker.

Shipping the model files with the tasks (instead of a path) means every worker on every
node runs exactly the model the driver chose (bundled, --model-dir or a pinned Hub
revision), with no shared disk and no Hub access on the workers. The revision recorded
in every result row is the served model's (core.classify.serving_plan: its LiteRT file and
settings, or its .keras file where LiteRT cannot serve it).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from emotion_recognition.core.classify import read_labels, serving_plan
from emotion_recognition.core.errors import ModelLoadError
from emotion_recognition.core.labels import emotion_set as emotion_set_named

_LOADED: dict[tuple[str, str], object] = {}  # per worker process: (revision, kind) -> model


@dataclass(frozen=True)
class ModelBundle:
    """One emotion set's served model files and labels.json, with where they came from."""

    emotion_set: str
    files: dict[str, bytes]
    source: str
    revision: str  # core.classify.serving_plan's: the same files, the same revision


@dataclass(frozen=True)
class SharedBundle:
    """A bundle put once in Ray's object store. Passed inside this wrapper, Ray sends only
    the reference with each task or actor, which fetches the bundle itself (see resolve)."""

    ref: object

    @classmethod
    def put(cls, bundle: ModelBundle) -> "SharedBundle":
        import ray

        return cls(ray.put(bundle))


def resolve(bundle: ModelBundle | SharedBundle) -> ModelBundle:
    """The bundle itself, fetched from the object store when shared."""
    if isinstance(bundle, SharedBundle):
        import ray

        return ray.get(bundle.ref)
    return bundle


def load_bundle(emotion_set: str, model_dir: str | Path | None = None) -> ModelBundle:
    """Read the model of ``emotion_set`` from ``model_dir``, or from where the app would
    load it (EMOTION_MODEL_REPO on the Hub, else the bundled model/)."""
    emotions = emotion_set_named(emotion_set)
    if model_dir is None:
        from emotion_recognition.models.hub import resolve_model_source

        resolved = resolve_model_source()
        model_dir, source = resolved.directory, resolved.description
    else:
        source = f"--model-dir {model_dir}"
    model_dir = Path(model_dir)
    read_labels(model_dir)  # a clear error for a folder without labels.json
    plan = serving_plan(model_dir, emotions)
    try:
        files = {name: (model_dir / name).read_bytes() for name in plan.files}
    except OSError as error:
        raise ModelLoadError(f"cannot read the emotion model in {model_dir}: {error}") from error
    files["labels.json"] = (model_dir / "labels.json").read_bytes()
    return ModelBundle(emotions.name, files, source, plan.revision)


def _materialise(bundle: ModelBundle) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="emotion-model-"))
    atexit.register(shutil.rmtree, folder, True)
    for name, data in bundle.files.items():
        (folder / name).write_bytes(data)
    return folder


def classifier_for(bundle: ModelBundle, threads: int = 1):
    """The bundle's EmotionClassifier on ``threads`` threads, loaded once per worker process."""
    key = (bundle.revision, "classifier")
    if key not in _LOADED:
        from emotion_recognition.core.classify import EmotionClassifier

        _LOADED[key] = EmotionClassifier.from_dir(_materialise(bundle), bundle.emotion_set,
                                                  threads=threads)
    return _LOADED[key]


def recognizer_for(bundle: ModelBundle):
    """An EmotionRecognizer on the bundle's model, made once per worker process."""
    key = (bundle.revision, "recognizer")
    if key not in _LOADED:
        from emotion_recognition.core.pipeline import EmotionRecognizer

        _LOADED[key] = EmotionRecognizer(model_dir=_materialise(bundle))
    return _LOADED[key]
