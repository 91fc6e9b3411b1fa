"""What a recipe's job leaves: a bundle a later job can go on from, and the results.

    python -m emotion_recognition.training.bundle runs/gpu --max-mib 4.5

The bundle is what a job on another machine (a fresh Colab session, another GPU machine)
needs to go on, kept small enough to upload beside the project and the training pack
(``--max-mib``, 4.5 MiB by default). ``bundle.tar`` holds, in this order, as long as it
fits: every small file (configs, histories, run states, logs, the teachers' stored outputs), the checkpoints of runs stopped mid-way (weights and
optimizer: what ``--resume`` needs), then the newest student's best weights. A finished
teacher's weights are never needed again: its outputs are what the students learn from.

``results.tar`` is for the machine that evaluates: everything but checkpoints of finished
runs, duplicate weights and all teachers' exported models but the best one's 7-emotion
model.
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

from emotion_recognition.training.checkpoint import CHECKPOINT_DIR, read_state

SMALL_FILE = 1 << 20  # bytes; larger files are weights
BUNDLE, RESULTS = "bundle.tar", "results.tar"
TAR_OVERHEAD = 2048  # bytes per member, with headers and padding (generous)


def _runs(out: Path) -> list[Path]:
    return sorted(p.parent.parent for p in out.glob(f"*/{CHECKPOINT_DIR}/state.json"))


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and p.name not in (BUNDLE, RESULTS)
                  and not p.name.startswith("partial-") and not p.name.endswith(".tmp"))


def bundle_files(out: Path, max_bytes: int) -> list[Path]:
    """The files of the bundle, by priority, within ``max_bytes``."""
    files = _files(out)
    small = [f for f in files if f.stat().st_size < SMALL_FILE]
    unfinished = [f for run in _runs(out) if not read_state(run).finished
                  for f in sorted((run / CHECKPOINT_DIR).glob("*")) if f not in small]
    students = [r for r in _runs(out) if r.name.startswith("student") and "_" not in r.name]
    newest = max(students, key=lambda r: (r / CHECKPOINT_DIR / "state.json").stat().st_mtime,
                  default=None)
    best = [newest / "best.weights.h5"] if newest and (newest / "best.weights.h5").is_file() else []
    chosen, used = [], 0
    for path in [*small, *unfinished, *best]:
        size = path.stat().st_size + TAR_OVERHEAD
        if used + size <= max_bytes:
            chosen.append(path)
            used += size
    return chosen


def results_files(out: Path) -> list[Path]:
    """Everything the evaluating machine needs: served models, histories, outputs; of the
    teachers' (large) exported models only the best one's 7-emotion model, to be compared."""
    finished = {run for run in _runs(out) if read_state(run).finished}
    teachers = [run for run in finished if run.name.startswith("teacher")]
    best_teacher = max(teachers, key=lambda r: read_state(r).best_val_accuracy, default=None)
    kept = []
    for path in _files(out):
        run = next((r for r in finished if r in path.parents), None)
        if run is not None and (CHECKPOINT_DIR in path.relative_to(run).parts
                                or path.name == "best.weights.h5"
                                or (run in teachers and path.suffix == ".keras"
                                    and (run != best_teacher or path.name != "emotion7.keras"))):
            continue
        kept.append(path)
    return kept


def write_tar(out: Path, name: str, files: list[Path]) -> Path:
    target = out / name
    partial = out / (name + ".tmp")
    with tarfile.open(partial, "w") as archive:
        for path in files:
            archive.add(path, arcname=f"./{path.relative_to(out)}")
    partial.replace(target)
    return target


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the recipe's output folder")
    parser.add_argument("--max-mib", type=float, default=4.5,
                        help="the bundle's size limit (MiB)")
    args = parser.parse_args(argv)
    bundle = write_tar(args.out, BUNDLE, bundle_files(args.out, int(args.max_mib * 2**20)))
    results = write_tar(args.out, RESULTS, results_files(args.out))
    for path in (bundle, results):
        print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)", flush=True)


if __name__ == "__main__":
    main()
