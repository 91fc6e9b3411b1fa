"""The served model folder: where the bundled one is, what a model folder holds, and the
check a folder passes before it is published.

The repository keeps the served models in model/ at its root (for the app and the Space);
``pip install .`` puts the same files inside the package, as emotion_recognition.models.served.
"""

from __future__ import annotations

from pathlib import Path

from emotion_recognition.core.labels import EMOTION_SETS

MODEL_FILES = (*(s.model_file for s in EMOTION_SETS.values()), "labels.json")  # the reference
LITERT_FILES = ("litert.json", "*.tflite")  # what is served where present (core/classify.py)
PUBLISHED_PATTERNS = ("*.keras", *LITERT_FILES, "labels.json", "README.md", "*.png", "*.json",
                      "*.csv")
MAX_MODEL_BYTES = 10 * 2**20  # a served file over this would need Git LFS on a Space


def bundled_model_dir() -> Path:
    """The served models: inside the package once pip-installed (package data), else the
    repository's model/ folder (a checkout, an editable install, the Space)."""
    installed = Path(__file__).resolve().parent / "served"
    if (installed / "labels.json").is_file():
        return installed
    return Path(__file__).resolve().parents[2] / "model"


def check_model_dir(model_dir: str | Path) -> list[Path]:
    """The files a publication would send; raises if a required one is missing or too big."""
    model_dir = Path(model_dir)
    required = [*MODEL_FILES, "README.md"]
    missing = [name for name in required if not (model_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir} lacks {', '.join(missing)}")
    too_big = [p.name for pattern in ("*.keras", "*.tflite") for p in model_dir.glob(pattern)
               if p.stat().st_size > MAX_MODEL_BYTES]
    if too_big:
        raise ValueError(f"model files over 10 MB (a Space would need LFS): {', '.join(too_big)}")
    return sorted(p for pattern in PUBLISHED_PATTERNS for p in model_dir.glob(pattern))
