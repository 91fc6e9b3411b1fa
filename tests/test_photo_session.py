"""The session's kept photo: a second analysis answers after the upload is gone."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import EXAMPLES
from emotion_recognition.serving.kept_photos import analyze_kept, analyze_new, face_at

pytestmark = pytest.mark.unit


class DeletingReader:
    """Like the app's FileStore.claim: the upload is deleted once read."""

    def __init__(self):
        self.reads = 0

    @contextmanager
    def __call__(self, source: str):
        self.reads += 1
        try:
            yield Path(source)
        finally:
            Path(source).unlink()


def test_analyse_again_with_other_settings_after_the_upload_is_deleted(recognizer, tmp_path):
    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    read = DeletingReader()
    kept, _ = analyze_new(recognizer, str(upload), read, "emotion7")
    assert not upload.exists() and len(kept.analysis.faces) == 3
    again, analysis = analyze_kept(recognizer, kept, "emotion4", explain=True)
    assert read.reads == 1 and set(again.analysis.faces[0].probabilities) == {"angry", "happy", "sad", "neutral"}
    assert len(again.analysis.explanations) == 3 and len(again.heat_maps) == 3
    assert analysis.image.shape[:2] == again.shape  # the pixels: the request's, not kept
    assert again.analysis.image.size == 0 and again.nbytes < analysis.image.nbytes
    shutil.copy(EXAMPLES / "astronaut.jpg", upload)  # a new upload at the same place
    fresh, _ = analyze_new(recognizer, str(upload), read, "emotion7")
    assert read.reads == 2 and len(fresh.analysis.faces) == 1


def test_a_click_picks_the_face_under_it(recognizer, tmp_path):
    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    kept, _ = analyze_new(recognizer, str(upload), DeletingReader())
    faces = kept.analysis.faces
    box = faces[2].box
    centre = (box.x + box.w / 2, box.y + box.h / 2)
    assert face_at(kept, *centre, kept.shape[1]) == 2
    assert face_at(kept, centre[0] / 2, centre[1] / 2, kept.shape[1] // 2) == 2  # shown smaller
    assert face_at(kept, 1, 1, kept.shape[1]) is None and face_at(None, 1, 1, 10) is None


def test_a_click_on_a_label_picks_its_face(recognizer, tmp_path):
    """Each face's label, where draw() put it, picks that face (shown at any width)."""
    from emotion_recognition.core.annotate import face_tags
    from emotion_recognition.serving.photo import label_at

    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    kept, _ = analyze_new(recognizer, str(upload), DeletingReader())
    tags = face_tags((*kept.shape, 3), kept.analysis.faces)
    assert [tag.text.split()[0] for tag in tags] == ["#1", "#2", "#3"]
    for index, tag in enumerate(tags):
        middle = (tag.box.x + tag.box.w / 2, tag.box.y + tag.box.h / 2)
        assert label_at(kept, *middle, kept.shape[1]) == index
        assert label_at(kept, middle[0] / 2, middle[1] / 2, kept.shape[1] // 2) == index
    assert label_at(kept, -5, -5, kept.shape[1]) is None


def _photo(megabytes: int, name: str = "p"):
    from emotion_recognition.serving.kept_photos import KeptPhoto

    return KeptPhoto(name, bytes(megabytes * 2**20))


def test_kept_photos_are_bounded_in_all_one_per_key_and_dropped_after_their_time():
    from emotion_recognition.serving.kept_photos import KeptPhotos

    now = [0.0]
    kept = KeptPhotos(max_bytes=10 * 2**20, ttl_s=60, clock=lambda: now[0])
    first = kept.put(None, _photo(4, "first"))
    again = kept.put(first, _photo(4, "second"))  # the session's next photo replaces its last
    assert again == first and len(kept) == 1 and kept.get(first).source == "second"
    others = [kept.put(None, _photo(4)) for _ in range(5)]  # 20 MB more: the oldest go first
    assert kept.bytes() <= 10 * 2**20 and kept.get(first) is None
    assert kept.get(others[-1]) is not None
    now[0] = 61
    assert kept.get(others[-1]) is None and len(kept) == 0
    assert kept.get("not a key") is None and kept.get(None) is None and kept.get(["x"]) is None


def test_an_analysis_makes_a_new_kept_photo_and_leaves_the_old_one_whole(recognizer, tmp_path):
    import dataclasses

    import pytest

    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    first, _ = analyze_new(recognizer, str(upload), DeletingReader(), "emotion7")
    second, _ = analyze_kept(recognizer, first, "emotion4")
    assert second is not first and second.data is first.data
    assert len(first.analysis.faces[0].probabilities) == 7 and len(second.analysis.faces[0].probabilities) == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.analysis = None


def test_the_labels_are_laid_out_once_per_analysis(recognizer, tmp_path, monkeypatch):
    """Clicks ask which label they hit: the layout draw() made is worked out once per kept
    analysis, not on every click, and a new analysis has its own."""
    from emotion_recognition.core import annotate
    from emotion_recognition.serving import kept_photos
    from emotion_recognition.serving.photo import label_at

    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    read = DeletingReader()
    kept, _ = analyze_new(recognizer, str(upload), read)
    layouts = []
    monkeypatch.setattr(kept_photos, "face_tags",
                        lambda *a: layouts.append(a) or annotate.face_tags(*a))
    for _ in range(3):
        assert label_at(kept, -5, -5, kept.shape[1]) is None
    assert len(layouts) == 1
    assert kept.tags == annotate.face_tags((*kept.shape, 3), kept.analysis.faces)
    again, _ = analyze_kept(recognizer, kept, "emotion4")
    label_at(again, 0, 0, again.shape[1])
    assert len(layouts) == 2


def test_another_emotion_set_keeps_the_boxes_and_another_detector_finds_them_again(
        recognizer, tmp_path, monkeypatch):
    """Switching the emotion set or the heat maps classifies the kept boxes (no detection:
    1.5 s on 12 MP); a new detector looks again, in the kept photo."""
    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    kept, _ = analyze_new(recognizer, str(upload), DeletingReader(), "emotion7")
    searches = []
    real = recognizer.analyze_decoded
    monkeypatch.setattr(recognizer, "analyze_decoded",
                        lambda *a, **k: searches.append(a[-1]) or real(*a, **k))
    four, analysis = analyze_kept(recognizer, kept, "emotion4", explain=True)
    assert searches == [] and four.detector == "haar"
    assert [f.box for f in four.analysis.faces] == [f.box for f in kept.analysis.faces]
    assert set(analysis.faces[0].probabilities) == {"angry", "happy", "sad", "neutral"}
    assert len(four.heat_maps) == 3
    blaze, _ = analyze_kept(recognizer, four, "emotion4", detector="blazeface")
    assert searches == ["blazeface"] and blaze.detector == "blazeface" and blaze.data is kept.data
    analyze_kept(recognizer, blaze, "emotion7", detector="blazeface")
    assert searches == ["blazeface"]  # its boxes kept in turn


def _server(tmp_path, recognizer):
    from emotion_recognition.serving.kept_photos import KeptPhotos
    from emotion_recognition.serving.server import Server
    from emotion_recognition.serving.store import FileStore

    return Server(recognizer, FileStore(tmp_path / "store"), KeptPhotos(2**26, 600), None, None,
                  None, None)  # (no live sessions here)


def _upload(server, source: Path) -> str:
    """As Gradio saves an upload: under a hash of its bytes, counted by the store."""
    import hashlib

    data = source.read_bytes()
    path = server.files.root / hashlib.sha256(data).hexdigest() / source.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    server.files.note_uploads([path])
    return str(path)


def test_every_setting_reruns_an_own_upload_from_the_kept_photo(recognizer, tmp_path):
    """The upload is deleted once analysed: Analyse again, another emotion set, heat maps
    or another detector answer from the session's kept photo."""
    from emotion_recognition.serving import photo

    server = _server(tmp_path, recognizer)
    mine = tmp_path / "mine.jpg"
    mine.write_bytes((EXAMPLES / "three_faces.jpg").read_bytes() + b"\0")  # not an example
    shown = _upload(server, mine)
    _, faces, _, key = photo.analyze(server, shown, "emotion7", False, None, "haar")
    assert len(faces) == 3 and not Path(shown).exists()
    for settings in [("emotion4", False, "haar"), ("emotion4", True, "haar"),
                     ("emotion7", False, "blazeface"), ("emotion7", False, "blazeface")]:
        annotated, again, _, same_key = photo.analyze_again(server, shown, settings[0], settings[1],
                                                         key, settings[2])
        assert same_key == key and Path(annotated).is_file() and len(again) == 3
        assert len(again[0]["probabilities"]) == (4 if settings[0] == "emotion4" else 7)
        assert ("explanation" in again[0]) == settings[1]
    assert photo.view(server, key).faces == again
    server.kept_photos.drop(key)  # gone (its time is up): the message says upload it again
    with pytest.raises(Exception, match="upload it again"):
        photo.analyze_again(server, shown, "emotion7", False, key, "haar")


def test_a_rerun_never_takes_another_persons_upload_of_the_same_bytes(recognizer, tmp_path):
    """Two people, one photo, one path: B's re-run answers from B's kept photo and leaves
    A's waiting upload for A's own request; neither sees the other's kept photo."""
    from emotion_recognition.serving import photo

    server = _server(tmp_path, recognizer)
    path = _upload(server, EXAMPLES / "astronaut.jpg")
    _, _, _, key_b = photo.analyze(server, path, "emotion7", False, None, "haar")
    assert _upload(server, EXAMPLES / "astronaut.jpg") == path  # A uploads the same bytes
    photo.analyze_again(server, path, "emotion4", False, key_b, "haar")
    assert Path(path).exists()  # still A's
    _, faces_a, _, key_a = photo.analyze(server, path, "emotion7", False, None, "haar")
    assert key_a != key_b and len(faces_a) == 1 and not Path(path).exists()
    assert len(photo.view(server, key_b).faces[0]["probabilities"]) == 4
    assert len(photo.view(server, key_a).faces[0]["probabilities"]) == 7


def test_a_rerun_keeps_the_face_picked():
    from emotion_recognition.serving.photo import same_face

    before = [{"box": [10, 10, 50, 50]}, {"box": [200, 10, 50, 50]}]
    after = [{"box": [198, 12, 52, 50]}, {"box": [12, 10, 48, 50]}, {"box": [400, 9, 50, 50]}]
    assert same_face(before, 1, after) == 0 and same_face(before, 0, after) == 1
    assert same_face(before, None, after) is None and same_face(before, 5, after) is None
    assert same_face(before, 0, [{"box": [500, 500, 50, 50]}]) is None
