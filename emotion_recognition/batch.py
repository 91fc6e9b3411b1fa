"""Label a whole collection on Ray Data: a local Ray by default, a Ray cluster when asked.

    python -m emotion_recognition.batch photos/ more/*.jpg list.txt --out results.parquet
    python -m emotion_recognition.batch s3://bucket/study/ --out s3://bucket/results --address auto

From Python, ``label_dataset`` returns a Ray Dataset (one row per face, per image without
a face, per unreadable input) to chain into a pipeline; ``run_batch`` writes it and
returns a Summary. Ray is an optional extra (``pip install ".[batch]"``) and is imported
only inside these functions, so the app never needs it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from emotion_recognition.batch_inputs import Inputs, expand_inputs, report_inputs
from emotion_recognition.detectors import DEFAULT_DETECTOR, DETECTORS
from emotion_recognition.errors import EmotionAppError
from emotion_recognition.labels import (DEFAULT_EMOTION_SET, EMOTION_SET_SIZES, EMOTION_SETS,
                                        emotion_set_of_size)

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BatchSettings:
    """How the work is cut up and how many workers do it."""

    emotion_set: str = DEFAULT_EMOTION_SET
    fps: float = 5.0                 # video frames analysed per second, as the video CLI
    images_per_task: int = 32        # images read and detected by one Ray task
    batch_size: int = 128            # images whose faces one classifier call labels together
    classifier_actors: int | None = None    # most actors in the pool; None: sized to the cluster
    classifier_cpus: float | None = None    # CPUs each actor reserves; None: sized to the cluster
    detect_cpus: float = 1.0         # CPUs reserved by each detection or video task
    model_dir: str | None = None     # None: where the app loads from (Hub or bundled model/)
    detector: str = DEFAULT_DETECTOR  # face detector (detectors.DETECTORS)

    def classifier_pool(self, cluster_cpus: float) -> tuple[int, float]:
        """(most actors, CPUs each). Classifying a face costs about a quarter of reading
        and detecting its photo (benchmarks/figures/batch.json), so a fifth of the CPUs
        classify. Below 8 CPUs one actor shares the cores with detection instead of
        keeping one of them for itself."""
        actors = self.classifier_actors or max(1, int(cluster_cpus // 5))
        cpus = self.classifier_cpus if self.classifier_cpus is not None else (
            1.0 if cluster_cpus >= 8 else 0.0)
        return actors, cpus


def runtime_env(ship_code: bool = True) -> dict:
    """Ray's documented way to get this package to every worker: py_modules."""
    env = {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}}
    if ship_code:
        env.update(py_modules=[str(PACKAGE_DIR)], excludes=["__pycache__", "*.pyc"])
    return env


def start_ray(address: str | None = None, num_cpus: int | None = None,
              object_store_mb: int = 512, ship_code: bool = True) -> bool:
    """Connect to ``address`` (or RAY_ADDRESS), else start a local Ray sized to this
    machine. Returns whether a local Ray was started (and so should be stopped)."""
    import ray

    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, runtime_env=runtime_env(ship_code), logging_level=logging.WARNING)
        return False
    ray.init(address="local", num_cpus=num_cpus or os.cpu_count(),
             object_store_memory=object_store_mb * 2**20, include_dashboard=False,
             runtime_env=runtime_env(ship_code), logging_level=logging.WARNING)
    return True


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None,
                object_store_mb: int = 512, quiet: bool = True):
    """Ray for the length of a with-block; a Ray already running in this process is reused
    (and left running)."""
    import ray

    started = False if ray.is_initialized() else start_ray(address, num_cpus, object_store_mb)
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = not quiet
    if quiet:  # our progress lines instead of Ray Data's bars and its notes about them
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _items(sources) -> list[dict]:
    return [{"source": s.name, "error": s.error} for s in sources]


def label_dataset(inputs: list[str] | Inputs, settings: BatchSettings = BatchSettings(),
                  skip: set[str] | frozenset = frozenset(), bundle=None):
    """A Ray Dataset of results for the inputs (folders, globs, list files, paths, URIs).

    Images: read + detect in Ray tasks, then an actor pool whose actors each load the model
    once and classify the faces of ``batch_size`` images per call. Videos: one task each.
    Ray must be running (``with ray_session():``, which also stops it): a Ray started here
    would outlive the dataset. ``skip`` names sources to leave out.
    """
    import ray

    from emotion_recognition.batch_model import SharedBundle, load_bundle
    from emotion_recognition.batch_stages import (FaceClassifier, analyse_videos, detect_faces,
                                                  result_schema)

    if not ray.is_initialized():
        raise EmotionAppError("label_dataset needs a running Ray: call it inside "
                              "`with ray_session():` (a local Ray, or RAY_ADDRESS's cluster).")
    actors, actor_cpus = settings.classifier_pool(ray.cluster_resources().get("CPU", 1))
    inputs = inputs if isinstance(inputs, Inputs) else expand_inputs(list(inputs))
    bundle = bundle or load_bundle(settings.emotion_set, settings.model_dir)
    shared = SharedBundle.put(bundle)
    images = [s for s in inputs.images if s.name not in skip]
    videos = [s for s in inputs.videos if s.name not in skip]
    parts = []
    if images:
        blocks = math.ceil(len(images) / settings.images_per_task)
        parts.append(
            ray.data.from_items(_items(images), override_num_blocks=blocks)
            .map_batches(detect_faces, fn_kwargs={"detector": settings.detector},
                         batch_format="pyarrow", batch_size=None, num_cpus=settings.detect_cpus)
            .map_batches(FaceClassifier, fn_constructor_args=[shared, max(1, int(actor_cpus))],
                         batch_format="pyarrow", batch_size=settings.batch_size,
                         compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
                         num_cpus=actor_cpus))
    if videos:
        parts.append(
            ray.data.from_items(_items(videos), override_num_blocks=len(videos))
            .map_batches(analyse_videos, fn_args=[shared, settings.fps, settings.detector],
                         batch_format="pyarrow", batch_size=1, num_cpus=settings.detect_cpus))
    if not parts:
        return ray.data.from_arrow(result_schema(bundle.emotion_set).empty_table())
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


def run_batch(inputs: list[str], out: str | None = None, csv: str | None = None,
              settings: BatchSettings = BatchSettings(), resume: bool = False,
              overwrite: bool = False, address: str | None = None, num_cpus: int | None = None,
              object_store_mb: int = 512, progress_every: int = 1000, stream=sys.stderr):
    """Label every input and write the rows to ``out`` (Parquet folder) and/or ``csv``.

    With ``resume``, inputs already in the output are skipped. Returns a Summary.
    """
    from emotion_recognition.batch_model import load_bundle
    from emotion_recognition.batch_output import (Progress, Summary, done_sources, open_outputs,
                                                  prepare_outputs)

    writers = open_outputs(out, csv)
    expanded = expand_inputs(inputs)
    report_inputs(expanded, stream)
    if not expanded.sources:
        raise EmotionAppError(f"no images or videos found in {' '.join(map(str, inputs))}")
    prepare_outputs(writers, resume, overwrite)
    skip = done_sources(writers) if resume else set()
    summary = Summary(skipped=sum(s.name in skip for s in expanded.sources))
    if summary.skipped == len(expanded.sources):
        print("every input is already in the output: nothing to do", file=stream)
        return summary
    bundle = load_bundle(settings.emotion_set, settings.model_dir)
    print(f"model: {bundle.emotion_set} {bundle.revision} from {bundle.source}", file=stream)
    progress = Progress(len(expanded.sources) - summary.skipped, progress_every, stream)
    with ray_session(address, num_cpus, object_store_mb):
        dataset = label_dataset(expanded, settings, skip, bundle)
        start = time.perf_counter()
        try:
            for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                for writer in writers:
                    writer.write(block)
                summary.add(block)
                summary.seconds = time.perf_counter() - start
                progress.update(summary)
        finally:
            for writer in writers:
                writer.commit()
    summary.seconds = time.perf_counter() - start
    return summary


def build_parser() -> argparse.ArgumentParser:
    defaults = BatchSettings()
    parser = argparse.ArgumentParser(
        prog="python -m emotion_recognition.batch",
        description="Label every face in a collection of images and videos on Ray Data "
                    "(a local Ray unless --address or RAY_ADDRESS names a cluster).")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="folders, globs, image/video files or URIs, or .txt list files "
                             "of paths/URIs (one per line, relative to the list)")
    parser.add_argument("--out", help="Parquet folder for the results (local or s3://...)")
    parser.add_argument("--csv", help="CSV file for the results (local)")
    parser.add_argument("--resume", action="store_true", help="skip inputs already in the output")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.add_argument("--emotions", choices=EMOTION_SET_SIZES, default=EMOTION_SET_SIZES[0],
                        help=" or ".join(s.title for s in EMOTION_SETS.values()))
    parser.add_argument("--fps", type=float, default=defaults.fps,
                        help="video frames analysed per second")
    parser.add_argument("--model-dir", help="a folder with emotion7/4.keras and labels.json")
    parser.add_argument("--detector", choices=list(DETECTORS), default=defaults.detector,
                        help="; ".join(f"{k}: {v}" for k, v in DETECTORS.items()))
    parser.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS, else "
                                          "a local Ray started and stopped by this command)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    parser.add_argument("--object-store-mb", type=int, default=512,
                        help="object store of the local Ray, in MB")
    parser.add_argument("--classifier-actors", type=int,
                        help="most classifier actors, each loading the model once "
                             "(default: a fifth of the cluster's CPUs, at least 1)")
    parser.add_argument("--classifier-cpus", type=float,
                        help="CPUs each classifier actor reserves (default: 1, or 0 on a "
                             "machine with fewer than 8 CPUs)")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="images whose faces are classified in one call")
    parser.add_argument("--images-per-task", type=int, default=defaults.images_per_task,
                        help="images read and detected per Ray task")
    parser.add_argument("--progress-every", type=int, default=1000,
                        help="print a progress line every N inputs (0: none)")
    parser.add_argument("--summary-json", type=Path, help="also write the summary here as JSON")
    return parser


def settings_from(args) -> BatchSettings:
    if not 0 < args.fps <= 30:
        raise EmotionAppError("--fps must be between 0 and 30")
    if min(args.classifier_actors or 1, args.batch_size, args.images_per_task) < 1 or \
            (args.classifier_cpus or 0) < 0:
        raise EmotionAppError("--classifier-actors, --batch-size and --images-per-task must be "
                              "at least 1, --classifier-cpus at least 0")
    return BatchSettings(emotion_set=emotion_set_of_size(args.emotions).name, fps=args.fps,
                         images_per_task=args.images_per_task, batch_size=args.batch_size,
                         classifier_actors=args.classifier_actors,
                         classifier_cpus=args.classifier_cpus, model_dir=args.model_dir,
                         detector=args.detector)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run_batch(args.inputs, args.out, args.csv, settings_from(args), args.resume,
                            args.overwrite, args.address, args.num_cpus, args.object_store_mb,
                            args.progress_every)
    except ModuleNotFoundError as error:
        if error.name not in ("ray", "pyarrow"):
            raise
        print('batch analysis needs Ray: pip install ".[batch]" (or -r requirements-batch.txt)',
              file=sys.stderr)
        return 2
    except EmotionAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.line(), file=sys.stderr)
    if args.summary_json:
        args.summary_json.write_text(json.dumps(summary.to_dict(), indent=2))
    for example in summary.error_examples:
        print(f"  error: {example}", file=sys.stderr)
    processed = summary.images + summary.videos
    return 1 if processed and summary.errors == processed else 0


if __name__ == "__main__":
    sys.exit(main())
