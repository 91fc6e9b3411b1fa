"""The Hugging Face Hub: fetch a pinned model revision, push model/ (huggingface_hub is
imported only when a repository is named).

Which models the app, the command lines and batch serve is set by two environment variables:

* ``EMOTION_MODEL_REPO``: a Hub repo id such as ``our-org/fer2013-emotions``; unset means
  "use the bundled model/ folder";
* ``EMOTION_MODEL_REVISION``: a commit hash, tag or branch (default ``main``); pin a commit
  hash in production so the served model only changes when you say so.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from emotion_recognition.models.bundled import (LITERT_FILES, MODEL_FILES, PUBLISHED_PATTERNS,
                                                bundled_model_dir, check_model_dir)

log = logging.getLogger(__name__)

# What "the Hub revision cannot be had" raises: network and file errors and every error of
# huggingface_hub (all OSErrors: unknown repo or revision, offline mode), a malformed repo id.
_UNAVAILABLE = (OSError, ValueError)


@dataclass(frozen=True)
class ModelSource:
    """Where the served models come from: a local folder and a line saying why."""

    directory: Path
    description: str


def download_model_dir(repo_id: str, revision: str = "main", cache_dir: str | None = None) -> Path:
    """Fetch the model files of ``repo_id`` at ``revision`` (from the local cache when offline):
    the .keras files and labels, and the LiteRT files where the revision has them."""
    from huggingface_hub import snapshot_download

    path = snapshot_download(repo_id=repo_id, revision=revision, cache_dir=cache_dir,
                             allow_patterns=[*MODEL_FILES, *LITERT_FILES])
    missing = [name for name in MODEL_FILES if not (Path(path) / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{repo_id}@{revision} lacks {', '.join(missing)}")
    return Path(path)


def resolve_model_source(environ=os.environ, bundled_dir: Path | None = None) -> ModelSource:
    """The Hub revision named by the environment, else the bundled model/; logs one line."""
    bundled_dir = bundled_dir or bundled_model_dir()
    repo_id = environ.get("EMOTION_MODEL_REPO", "").strip()
    revision = environ.get("EMOTION_MODEL_REVISION", "").strip() or "main"
    if repo_id:
        try:
            source = ModelSource(download_model_dir(repo_id, revision),
                                 f"Hugging Face Hub {repo_id}@{revision}")
        except Exception as error:  # offline, unknown repo, bad revision: fall back, say why
            source = ModelSource(bundled_dir, f"bundled {bundled_dir} (Hub {repo_id}@{revision} "
                                              f"unavailable: {type(error).__name__}: {error})")
            # Not the model that was asked for: a warning, with the traceback of an error
            # that is not the Hub's or the network's (a bug must not pass for "offline").
            log.warning("Emotion models loaded from %s", source.description,
                        exc_info=not isinstance(error, _UNAVAILABLE))
            return source
    else:
        source = ModelSource(bundled_dir, f"bundled {bundled_dir} (EMOTION_MODEL_REPO not set)")
    log.info("Emotion models loaded from %s", source.description)
    return source


def served_model_dir() -> Path:
    """The folder of the models to serve (resolve_model_source's): what the front ends give
    EmotionRecognizer, to be called when a model is first needed."""
    return resolve_model_source().directory


def upload_model_dir(model_dir: str | Path, repo_id: str, token: str | None = None,
                     private: bool = False, commit_message: str = "Upload emotion models"):
    """Push model/ (models, labels, card, plots) to ``repo_id``; returns the commit info.

    The token comes from the argument or the HF_TOKEN environment variable.
    """
    from huggingface_hub import HfApi

    check_model_dir(model_dir)
    api = HfApi(token=token or os.environ.get("HF_TOKEN"))
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    return api.upload_folder(folder_path=str(model_dir), repo_id=repo_id, repo_type="model",
                             allow_patterns=list(PUBLISHED_PATTERNS), commit_message=commit_message)


def main(argv=None) -> None:
    """``python -m emotion_recognition.models.hub push model/ our-org/fer2013-emotions``"""
    import argparse

    parser = argparse.ArgumentParser(description="Push model/ to the Hugging Face Hub")
    sub = parser.add_subparsers(dest="command", required=True)
    push = sub.add_parser("push", help="upload a model folder (token from HF_TOKEN)")
    push.add_argument("model_dir")
    push.add_argument("repo_id")
    push.add_argument("--private", action="store_true")
    args = parser.parse_args(argv)
    info = upload_model_dir(args.model_dir, args.repo_id, private=args.private)
    print(f"uploaded {args.model_dir} to {args.repo_id}: {info}")


if __name__ == "__main__":
    main()
