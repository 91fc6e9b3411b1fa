"""Batch throughput: photo-sized images through the batch command (Ray Data) and the plain CLI.

    python -m benchmarks.batch            # 1,000 images; writes benchmarks/figures/batch.json

Makes N 640x480 JPEGs with one real face each (the astronaut photo at a random size and
place on a random background), then times, as subprocesses, exactly what a user runs:

* ``emotion-photo FOLDER --csv ...`` (python -m emotion_recognition.cli.photo: one process, one
  file at a time);
* ``emotion-batch FOLDER --out ...`` (python -m emotion_recognition.batch.command: a local Ray
  sized to the machine).

Each command also runs on a single image; the difference is the steady throughput
without start-up (Python, TensorFlow, Ray, actors). The scaling plan for 1 million photos
an hour is derived from the measured per-CPU rate and written with the figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.figures_io import write_figures

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "examples" / "astronaut.jpg"
FIGURES = ROOT / "benchmarks" / "figures" / "batch.json"
TARGET_PER_HOUR = 1_000_000


def make_images(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` 640x480 JPEGs (quality 90), each with the astronaut's face somewhere."""
    from emotion_recognition.core.decode import decode_image

    rng = np.random.default_rng(seed)
    face = decode_image(PHOTO)[20:260, 110:350]  # as tests/conftest.face_patch: one face found
    paths = []
    for i in range(count):
        side = int(rng.integers(180, 300))
        x, y = int(rng.integers(0, 640 - side)), int(rng.integers(0, 480 - side))
        frame = np.full((480, 640, 3), rng.integers(40, 200, 3), np.uint8)
        frame[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
        path = folder / f"photo_{i:05d}.jpg"
        cv2.imwrite(str(path), frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def timed(command: list[str]) -> float:
    """Wall-clock seconds of a command run the way a user runs it (fails loudly)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "EMOTION_MODEL_REPO": ""}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds


def cli_command(inputs: list[str], out: Path) -> list[str]:
    return [sys.executable, "-m", "emotion_recognition.cli.photo", *inputs, "--csv", str(out)]


def batch_command(inputs: list[str], out: Path, summary: Path, cpus: int) -> list[str]:
    return [sys.executable, "-m", "emotion_recognition.batch.command", *inputs, "--out", str(out),
            "--num-cpus", str(cpus), "--summary-json", str(summary), "--progress-every", "0"]


def measure(name: str, make_command, one: str, folder: str, count: int) -> dict:
    """End-to-end and steady throughput of one command on 1 and on ``count`` images."""
    single = timed(make_command([one], "single"))
    full = timed(make_command([folder], "full"))
    steady = (count - 1) / max(full - single, 1e-9)
    figures = {"images": count, "wall_s_one_image": round(single, 2),
               "wall_s": round(full, 2), "images_per_s_end_to_end": round(count / full, 2),
               "images_per_s_steady": round(steady, 2)}
    print(f"{name:6s} {json.dumps(figures)}", flush=True)
    return figures


def work_split(paths: list[Path], repeats: int = 3) -> dict:
    """Milliseconds of one CPU thread to read, decode and detect one photo, and to classify
    one face (in batches of 32): how the CPUs should be split between the two stages."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cv2.setNumThreads(1)
    from benchmarks.timing import time_calls
    from emotion_recognition.core.classify import EmotionClassifier
    from emotion_recognition.core.crops import face_crops, to_grey
    from emotion_recognition.core.decode import decode_image
    from emotion_recognition.core.detection.detectors import create_detector
    from emotion_recognition.core.detection.policy import find_faces

    detector, sample = create_detector(), paths[:40]  # the default, as the batch stage runs it

    def detect_sample():
        for path in sample:
            grey = to_grey(decode_image(path.read_bytes()))
            face_crops(grey, find_faces(detector, grey))

    classifier = EmotionClassifier.from_dir(ROOT / "model", "emotion7")
    faces = np.random.default_rng(0).integers(0, 256, (32, 48, 48, 1)).astype(np.uint8)
    detect_ms = float(np.median(time_calls(detect_sample, repeats, 1))) / len(sample)
    classify_ms = float(np.median(time_calls(lambda: classifier.predict(faces), 10))) / 32
    return {"detect_ms_per_photo": round(detect_ms, 2), "classify_ms_per_face": round(classify_ms, 2)}


def scaling_plan(batch_figures: dict, cpus: int, split: dict, faces_per_photo: float,
                 node_cpus: int = 16, headroom: float = 1.25) -> dict:
    """Cluster size for TARGET_PER_HOUR photos in an hour from the measured per-CPU rate of
    the whole pipeline, assuming it scales with CPUs (independent tasks) and ``headroom``
    for start-up, stragglers and object-store reads."""
    target = TARGET_PER_HOUR / 3600
    per_cpu = batch_figures["images_per_s_steady"] / cpus
    cpus_needed = math.ceil(target * headroom / per_cpu)
    classify = split["classify_ms_per_face"] * faces_per_photo
    classify_share = classify / (classify + split["detect_ms_per_photo"])
    return {"target_images_per_s": round(target, 1),
            "measured_images_per_s_per_cpu": round(per_cpu, 2), "headroom": headroom,
            "cpus_needed": cpus_needed, "node_cpus": node_cpus,
            "per_node_images_per_s": round(per_cpu * node_cpus, 1),
            "nodes_needed": math.ceil(cpus_needed / node_cpus),
            "classification_share_of_cpu": round(classify_share, 3),
            "classifier_actors_needed": math.ceil(cpus_needed * classify_share)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray")
    parser.add_argument("--json", type=Path, default=FIGURES)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "photos").mkdir()
        paths = make_images(tmp / "photos", args.images)
        one, folder = str(paths[0]), str(tmp / "photos")
        cli = measure("cli", lambda inputs, tag: cli_command(inputs, tmp / f"cli_{tag}.csv"),
                      one, folder, args.images)
        ray = measure("batch", lambda inputs, tag: batch_command(
            inputs, tmp / f"batch_{tag}.parquet", tmp / f"summary_{tag}.json", args.cpus),
            one, folder, args.images)
        summary = json.loads((tmp / "summary_full.json").read_text())
        agreement = labels_agree(tmp / "cli_full.csv", tmp / "batch_full.parquet")
        split = work_split(paths)
    figures = {"machine": {"cpus": os.cpu_count(), "ray_cpus": args.cpus,
                           "python": platform.python_version(),
                           "load_average_before": round(load_before, 2),
                           "load_average_after": round(os.getloadavg()[0], 2)},
               "image": "640x480 JPEG (quality 90), one face", "cli": cli, "batch": ray,
               "batch_summary": summary, "labels_identical_share": agreement,
               "speedup_steady": round(ray["images_per_s_steady"] / cli["images_per_s_steady"], 2),
               "work_split_one_thread": split}
    faces_per_photo = summary["faces"] / max(summary["images"], 1)
    figures["plan_1m_photos_per_hour"] = scaling_plan(ray, args.cpus, split, faces_per_photo)
    print(json.dumps(figures["plan_1m_photos_per_hour"], indent=2))
    write_figures(args.json, figures)


def labels_agree(cli_csv: Path, batch_parquet: Path) -> float:
    """Share of faces (file, box) given the same label by the CLI and the batch command."""
    import pandas as pd

    cli = pd.read_csv(cli_csv).dropna(subset=["label"])
    batch = pd.read_parquet(batch_parquet).query("status == 'face'")
    key = ["file", "x", "y", "w", "h"]
    batch = batch.rename(columns={"source": "file"})
    cli[key[1:]] = cli[key[1:]].astype(int)
    batch[key[1:]] = batch[key[1:]].astype(int)
    merged = cli.merge(batch, on=key, suffixes=("_cli", "_batch"))
    same = (merged.label_cli == merged.label_batch).sum()
    return round(float(same) / max(len(cli), len(batch), 1), 4)


if __name__ == "__main__":
    main()
