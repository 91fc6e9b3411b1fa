"""Label a whole collection on Ray Data: a local Ray by default, a Ray cluster when asked.

``label_dataset`` returns a Ray Dataset of face rows (core/rows.py: one per face, per image
without a face, per unreadable input) to chain into a pipeline; ``run_batch`` writes it and
returns a Summary; ``ray_session`` starts (and stops) Ray for them. Ray is an optional extra
(``pip install ".[batch]"``) and is imported only inside these functions, so the app never
needs it. The command line is batch/command.py (emotion-batch).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from emotion_recognition.batch.inputs import Inputs, expand_inputs, report_inputs
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET
from emotion_recognition.core.limits import Limits

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # emotion_recognition/, shipped to workers


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
    limits: Limits = field(default_factory=Limits.local)  # trusted local input's (settable)

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

    from emotion_recognition.batch.model import SharedBundle, load_bundle
    from emotion_recognition.batch.stages import (FaceClassifier, analyze_videos, detect_faces,
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
            .map_batches(detect_faces, fn_kwargs={"detector": settings.detector,
                                                  "limits": settings.limits},
                         batch_format="pyarrow", batch_size=None, num_cpus=settings.detect_cpus)
            .map_batches(FaceClassifier, fn_constructor_args=[shared, max(1, int(actor_cpus))],
                         batch_format="pyarrow", batch_size=settings.batch_size,
                         compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
                         num_cpus=actor_cpus))
    if videos:
        parts.append(
            ray.data.from_items(_items(videos), override_num_blocks=len(videos))
            .map_batches(analyze_videos,
                         fn_args=[shared, settings.fps, settings.detector, settings.limits],
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
    from emotion_recognition.batch.model import load_bundle
    from emotion_recognition.batch.output import (Progress, Summary, done_sources, open_outputs,
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
