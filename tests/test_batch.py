"""Batch analysis on a local Ray: rows, columns, no-face and error rows, the same answers as
EmotionRecognizer.analyze and the video CLI, resume, inputs, and the package on the workers."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray", reason='batch analysis needs the batch extra: pip install ".[batch]"')
import pyarrow as pa  # noqa: E402  (ray[data] brings pyarrow)
import pyarrow.parquet as pq  # noqa: E402

from conftest import EXAMPLES, ROOT, write_video  # noqa: E402
from emotion_recognition.batch import command as batch, run as batch_run  # noqa: E402
from emotion_recognition.batch.inputs import expand_inputs, glob_regex  # noqa: E402
from emotion_recognition.batch.output import CsvFile  # noqa: E402
from emotion_recognition.batch.run import (BatchSettings, label_dataset,  # noqa: E402
                                           ray_session, run_batch)
from emotion_recognition.core.classify import serving_plan  # noqa: E402
from emotion_recognition.core.errors import EmotionAppError  # noqa: E402
from emotion_recognition.core.labels import EMOTIONS7  # noqa: E402
from emotion_recognition.core.rows import row_columns  # noqa: E402
from emotion_recognition.video.analysis import analyze_video  # noqa: E402

pytestmark = pytest.mark.unit

MODEL_DIR = str(ROOT / "model")
SETTINGS = BatchSettings(fps=2, images_per_task=2, batch_size=3, model_dir=MODEL_DIR)
FACE_PHOTOS = ("astronaut.jpg", "grace_hopper.jpg", "three_faces.jpg", "sub/copy.jpg")


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """Real example photos, a copy in a subfolder, a no-face photo, a truncated JPEG, an
    empty file, a short video, a file that is no video, and a note that is no image."""
    folder = tmp_path_factory.mktemp("collection")
    for name in ("astronaut.jpg", "grace_hopper.jpg", "three_faces.jpg", "coffee_no_face.jpg"):
        shutil.copy(EXAMPLES / name, folder / name)
    (folder / "sub").mkdir()
    shutil.copy(EXAMPLES / "astronaut.jpg", folder / "sub" / "copy.jpg")
    (folder / "corrupt.jpg").write_bytes((EXAMPLES / "grace_hopper.jpg").read_bytes()[:3000])
    (folder / "empty.png").write_bytes(b"")
    write_video(folder / "clip.mp4", frames=30, fps=10.0)  # 3 s: 6 frames at 2 fps
    (folder / "broken.mp4").write_bytes(b"not a video")
    (folder / "notes.md").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def ray_local():
    with ray_session(num_cpus=2, object_store_mb=300):
        yield


@pytest.fixture(scope="module")
def results(collection, ray_local, tmp_path_factory):
    """One run over the collection plus a path that does not exist: (summary, rows, out)."""
    out = tmp_path_factory.mktemp("results")
    progress = io.StringIO()
    summary = run_batch([str(collection), str(collection / "missing.jpg")],
                        out=str(out / "results.parquet"), csv=str(out / "results.csv"),
                        settings=SETTINGS, progress_every=3, stream=progress)
    rows = pq.read_table(out / "results.parquet").to_pandas()
    return summary, rows, out, progress.getvalue()


@pytest.fixture(scope="module")
def faces_per_photo(collection, recognizer) -> dict[str, int]:
    """What EmotionRecognizer.analyze finds in each photo with faces."""
    counts = {name: len(recognizer.analyze(collection / name).faces) for name in FACE_PHOTOS}
    assert counts["three_faces.jpg"] >= 2 and min(counts.values()) >= 1
    return counts


def rows_of(rows, collection, name):
    return rows[rows.source == str(collection / name)]


def test_one_row_per_face_plus_no_face_and_error_rows(results, collection, faces_per_photo):
    summary, rows, _, _ = results
    for name, count in faces_per_photo.items():
        mine = rows_of(rows, collection, name)
        assert len(mine) == count and set(mine.status) == {"face"}
        assert sorted(mine.face) == list(range(1, count + 1)) and set(mine.face_count) == {count}
    assert list(rows_of(rows, collection, "coffee_no_face.jpg").status) == ["no_face"]
    for name in ("corrupt.jpg", "empty.png", "missing.jpg", "broken.mp4"):
        mine = rows_of(rows, collection, name)
        assert list(mine.status) == ["error"] and mine.error.iloc[0]
    assert "truncated" in rows_of(rows, collection, "corrupt.jpg").error.iloc[0]
    assert "empty" in rows_of(rows, collection, "empty.png").error.iloc[0]
    assert not (rows.source.str.endswith("notes.md")).any()
    assert rows.source.nunique() == 10
    assert len(rows) == sum(faces_per_photo.values()) + 1 + 4 + \
        len(rows_of(rows, collection, "clip.mp4"))


def test_columns_and_model_revision(results):
    _, rows, _, _ = results
    assert list(rows.columns) == list(row_columns(EMOTIONS7)) == [
        "source", "kind", "status", "face_count", "face", "frame", "time_s",
        "x", "y", "w", "h", "label", "confidence", *EMOTIONS7,
        "emotion_set", "model_revision", "error"]  # the one face-row schema (core/rows.py)
    assert set(rows.emotion_set) == {"emotion7"}
    # the revision of the file served: the LiteRT network with its settings for emotion7
    assert set(rows.model_revision) == {serving_plan(ROOT / "model", "emotion7").revision}
    faces = rows[rows.status == "face"]
    # each probability is written to 4 decimals, so 7 of them sum to 1 within 7 x 0.00005
    assert np.allclose(faces[list(EMOTIONS7)].sum(axis=1), 1, atol=len(EMOTIONS7) * 0.5e-4 + 1e-9)
    assert faces.label.isin(EMOTIONS7).all() and faces.error.isna().all()


def test_same_labels_and_probabilities_as_analyze(results, collection, recognizer):
    _, rows, _, _ = results
    for name in FACE_PHOTOS:
        expected = recognizer.analyze(collection / name, "emotion7").faces
        mine = rows_of(rows, collection, name).sort_values("face")
        assert [list(r) for r in mine[["x", "y", "w", "h"]].to_numpy()] == \
               [f.box.as_list() for f in expected]
        assert list(mine.label) == [f.label for f in expected]
        got = mine[list(EMOTIONS7)].to_numpy(np.float64)
        want = np.array([[f.probabilities[n] for n in EMOTIONS7] for f in expected])
        assert np.allclose(got, want, atol=5e-5), (name, got, want)  # rows: 4 decimals


def test_video_rows_are_the_video_clis(results, collection, recognizer):
    _, rows, _, _ = results
    expected = analyze_video(collection / "clip.mp4", recognizer, "emotion7", 2)
    mine = rows_of(rows, collection, "clip.mp4").sort_values("frame")
    assert len(mine) == len(expected.records) == 6
    assert list(mine.frame) == [r.frame for r in expected.records]
    assert list(mine.time_s) == pytest.approx([r.time for r in expected.records])
    assert list(mine.label) == [r.face.label for r in expected.records]
    assert set(mine.face) == {1} and set(mine.kind) == {"video"}
    import pandas as pd

    columns = [c for c in row_columns(EMOTIONS7) if c not in ("source", "error")]
    want = pd.DataFrame(expected.rows("clip.mp4"))[columns]  # the video CLI's rows, the same
    pd.testing.assert_frame_equal(mine[columns].reset_index(drop=True), want, check_dtype=False)


def test_summary_progress_and_csv(results, faces_per_photo):
    summary, rows, out, progress = results
    faces = sum(faces_per_photo.values())
    assert (summary.images, summary.faces, summary.no_face) == (8, faces, 1)
    assert (summary.videos, summary.video_face_rows, summary.errors) == (2, 6, 4)
    assert summary.images_per_second > 0 and f"8 image(s): {faces} face(s)" in summary.line()
    assert progress.count("inputs,") >= 2
    csv_rows = CsvFile(out / "results.csv")
    assert csv_rows.done_sources() == set(rows.source)
    import pandas as pd

    assert len(pd.read_csv(out / "results.csv")) == len(rows)


def test_resume_skips_inputs_already_in_the_output(ray_local, tmp_path):
    names = ["astronaut.jpg", "coffee_no_face.jpg", "grace_hopper.jpg"]
    for name in names:
        shutil.copy(EXAMPLES / name, tmp_path / name)
    out = str(tmp_path / "out.parquet")
    first = run_batch([str(tmp_path / n) for n in names[:2]], out=out, settings=SETTINGS)
    assert (first.images, first.skipped) == (2, 0)
    with pytest.raises(EmotionAppError, match="--resume"):
        run_batch([str(tmp_path)], out=out, settings=SETTINGS)
    second = run_batch([str(tmp_path)], out=out, settings=SETTINGS, resume=True)
    assert (second.images, second.skipped, second.faces) == (1, 2, 1)
    rows = pq.read_table(out).to_pandas()
    assert sorted(rows.source) == sorted(str(tmp_path / n) for n in names)
    third = run_batch([str(tmp_path)], out=out, settings=SETTINGS, resume=True)
    assert (third.images, third.skipped) == (0, 3)


def test_dataset_chains_into_a_ray_pipeline(ray_local, recognizer):
    """A filter on the label keeps exactly the faces that have it: three_faces.jpg's two
    smiling people (faces 1 and 3, left and right), not the neutral one between them."""
    photos = [EXAMPLES / "three_faces.jpg", EXAMPLES / "coffee_no_face.jpg"]
    faces = recognizer.analyze(photos[0]).faces
    assert [f.label for f in faces] == ["happy", "neutral", "happy"]
    dataset = label_dataset([str(p) for p in photos], SETTINGS).materialize()
    from ray.data.expressions import col

    happy = dataset.filter(expr=col("label") == "happy").to_pandas().sort_values("face")
    assert list(happy.face) == [1, 3] and set(happy.source) == {str(photos[0])}
    assert [list(r) for r in happy[["x", "y", "w", "h"]].to_numpy()] == \
        [faces[0].box.as_list(), faces[2].box.as_list()]
    assert list(dataset.filter(expr=col("label") == "neutral").to_pandas().face) == [2]
    assert dataset.count() == 4  # three faces and the coffee's no_face row


def test_label_dataset_never_starts_a_ray_it_would_not_stop(monkeypatch):
    import ray

    from emotion_recognition.core.errors import EmotionAppError

    started = []
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(batch_run, "start_ray", lambda *args, **kwargs: started.append(1))
    with pytest.raises(EmotionAppError, match="inside `with ray_session"):
        label_dataset([str(EXAMPLES / "astronaut.jpg")], SETTINGS)
    assert started == []


def test_classifier_pool_is_sized_to_the_cluster():
    assert BatchSettings().classifier_pool(2) == (1, 0.0)  # shares this machine's 2 cores
    assert BatchSettings().classifier_pool(160) == (32, 1.0)
    assert BatchSettings(classifier_actors=3, classifier_cpus=0.5).classifier_pool(160) == (3, 0.5)


def test_cli_reads_a_list_file_and_reports(ray_local, tmp_path, capsys):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# photos\n{EXAMPLES / 'astronaut.jpg'}\n\nfile://{EXAMPLES / 'grace_hopper.jpg'}\n")
    code = batch.main([str(listing), "--csv", str(tmp_path / "out.csv"), "--emotions", "4",
                       "--model-dir", MODEL_DIR, "--summary-json", str(tmp_path / "summary.json")])
    assert code == 0
    err = capsys.readouterr().err
    assert "2 image(s): " in err and "0 without a face, 0 error(s)" in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["images"], summary["no_face"], summary["errors"]) == (2, 0, 0)
    import pandas as pd

    table = pd.read_csv(tmp_path / "out.csv")
    assert list(table.columns[13:17]) == ["angry", "happy", "sad", "neutral"]
    assert set(table.emotion_set) == {"emotion4"}
    assert set(table.source) == {str(EXAMPLES / "astronaut.jpg"),
                                 f"file://{EXAMPLES / 'grace_hopper.jpg'}"}


@pytest.mark.parametrize("argv, message", [
    (["EMPTY"], "say where the results go"),
    (["EMPTY", "--out", "x.parquet"], "no images or videos found"),
    (["EMPTY", "--csv", "x.csv", "--fps", "0"], "--fps: Frames per second to analyse must be"),
    ([str(EXAMPLES), "--csv", "s3://bucket/x.csv"], "--csv writes a local file"),
])
def test_bad_arguments_get_a_clear_message(tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    argv = [str(tmp_path / "empty") if a == "EMPTY" else a for a in argv]
    assert batch.main(argv) == 2
    assert message in capsys.readouterr().err


def test_inputs_expand_folders_globs_lists_and_uris(collection, tmp_path):
    listing = tmp_path / "list.txt"
    (tmp_path / "rel.jpg").write_bytes(b"x")
    listing.write_text(f"rel.jpg\n{collection}/*.mp4\nfile://{collection / 'sub' / 'copy.jpg'}\n")
    inputs = expand_inputs([str(collection), str(collection / "*.jpg"), str(listing),
                            str(tmp_path / "nope.jpg"), str(collection / "*.xyz")])
    names = [s.name for s in inputs.sources]
    assert len(names) == len(set(names)) == 12
    assert inputs.ignored == 1 and any("*.xyz" in w for w in inputs.warnings)
    assert {s.name for s in inputs.videos} == {str(collection / "clip.mp4"),
                                               str(collection / "broken.mp4")}
    assert str(tmp_path / "rel.jpg") in names and f"file://{collection}/sub/copy.jpg" in names
    assert [s.error for s in inputs.sources if s.name.endswith("nope.jpg")] == \
           [f"No such file or folder: {tmp_path / 'nope.jpg'}"]


def test_glob_semantics():
    assert glob_regex("/a/*.jpg").match("/a/x.jpg") and not glob_regex("/a/*.jpg").match("/a/b/x.jpg")
    assert glob_regex("/a/**/*.jpg").match("/a/b/c/x.jpg") and glob_regex("/a/**/*.jpg").match("/a/x.jpg")
    assert glob_regex("/a/[!x]?.png").match("/a/yz.png") and not glob_regex("/a/[!x]?.png").match("/a/xz.png")


def test_a_half_written_csv_line_is_cut_before_resuming(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text('"source","status"\n"/a.jpg","face"\n"/b.jpg","fa')
    assert CsvFile(path).done_sources() == {"/a.jpg"}
    assert path.read_text().endswith('"face"\n')


def test_the_csv_is_formula_safe_and_resumes_from_such_names(tmp_path):
    """A relative source named like a formula ("=HYPERLINK(...)") is written with the
    apostrophe spreadsheets show as text, and a resumed run still knows it is done."""
    path = tmp_path / "out.csv"
    names = ["=HYPERLINK(\"http://x\")1.jpg", "-2+3.jpg", "photos/a.jpg"]
    table = pa.table({"source": names, "face_count": [1, 0, 2]})
    CsvFile(path).write(table)
    cells = list(csv.DictReader(path.open()))
    assert [row["source"] for row in cells] == ["'" + names[0], "'" + names[1], names[2]]
    assert CsvFile(path).done_sources() == set(names)


def test_workers_import_the_package_shipped_by_the_runtime_env(tmp_path):
    """From a folder outside the repository, Ray's workers get the code via py_modules, and
    the session started for the run is stopped after it."""
    script = textwrap.dedent(f"""
        import ray
        from emotion_recognition.batch.run import BatchSettings, ray_session, run_batch
        with ray_session(num_cpus=2, object_store_mb=200):
            where = ray.remote(lambda: __import__("emotion_recognition").__file__)
            print("worker:", ray.get(where.remote()))
            summary = run_batch([{str(EXAMPLES / 'astronaut.jpg')!r}], csv="out.csv",
                                settings=BatchSettings(model_dir={MODEL_DIR!r}))
            print("summary:", summary.line())
        print("still running:", ray.is_initialized())
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAY_ADDRESS")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    worker = next(line for line in done.stdout.splitlines() if line.startswith("worker:"))
    assert "runtime_resources" in worker and "py_modules" in worker, worker
    assert "summary: 1 image(s): 1 face(s)" in done.stdout
    assert "still running: False" in done.stdout
    assert (tmp_path / "out.csv").read_text().count("\n") == 2


def test_local_limits_reach_the_workers(ray_local, tmp_path):
    """emotion-batch takes a recording over the web server's 10 minutes and a photo over its
    40 megapixels (local limits: generous); its options set lower ones, which the Ray
    workers then keep."""
    from dataclasses import replace

    from test_cli import write_big_photo, write_long_video

    from emotion_recognition.core.limits import Limits

    video, photo = write_long_video(tmp_path / "long.mp4"), write_big_photo(tmp_path / "big.jpg")
    settings = replace(SETTINGS, fps=0.2)  # a frame every 5 s: 126 frames
    rows = label_dataset([str(video), str(photo)], settings).to_pandas()
    long, big = rows[rows.source == str(video)], rows[rows.source == str(photo)]
    assert set(long.status) == {"face"} and sorted(long.time_s) == pytest.approx(range(605, 630, 5))
    assert list(big.status) == ["face"] and big.w.iloc[0] > 600  # in the photo's own pixels
    args = batch.build_parser().parse_args([str(video), "--csv", "x.csv", "--fps", "0.2",
                                            "--max-video-minutes", "10",
                                            "--max-photo-megapixels", "40"])
    strict = replace(batch.settings_from(args), model_dir=MODEL_DIR)
    assert strict.limits == Limits.local(max_video_minutes=10, max_photo_megapixels=40)
    rows = label_dataset([str(video), str(photo)], strict).to_pandas()
    assert list(rows.status) == ["error", "error"]
    assert set(rows.error.str.extract(r"(the limit is \d+ m\w+)")[0]) == {
        "the limit is 10 minutes", "the limit is 40 megapixels"}


def test_the_detector_choice_reaches_the_detection_stage(capsys):
    from emotion_recognition.batch.stages import detect_one

    args = batch.build_parser().parse_args(["in/", "--csv", "x.csv", "--detector", "blazeface"])
    assert batch.settings_from(args).detector == "blazeface"
    assert BatchSettings().detector == "haar"
    for name in ("haar", "blazeface", "combined"):
        row = detect_one(str(EXAMPLES / "three_faces.jpg"), name)
        assert row["error"] is None and row["face_count"] == 3
    with pytest.raises(SystemExit):
        batch.build_parser().parse_args(["in/", "--detector", "yolo"])
    assert "invalid choice" in capsys.readouterr().err
