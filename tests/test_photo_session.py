"""The session's kept photo: a second analysis answers after the upload is gone."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from conftest import EXAMPLES
from emotion_recognition.photo_session import analyse_photo, face_at


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
    kept = analyse_photo(recognizer, str(upload), None, read, "emotion7")
    assert not upload.exists() and len(kept.analysis.faces) == 3
    again = analyse_photo(recognizer, str(upload), kept, read, "emotion4", explain=True)
    assert read.reads == 1 and set(again.analysis.faces[0].scores) == {"angry", "happy", "sad", "neutral"}
    assert len(again.analysis.explanations) == 3
    shutil.copy(EXAMPLES / "astronaut.jpg", upload)  # a new upload at the same place
    fresh = analyse_photo(recognizer, str(upload), again, read, "emotion7")
    assert read.reads == 2 and len(fresh.analysis.faces) == 1


def test_a_click_picks_the_face_under_it(recognizer, tmp_path):
    upload = tmp_path / "upload.jpg"
    shutil.copy(EXAMPLES / "three_faces.jpg", upload)
    kept = analyse_photo(recognizer, str(upload), None, DeletingReader())
    faces = kept.analysis.faces
    box = faces[2].box
    centre = (box.x + box.w / 2, box.y + box.h / 2)
    assert face_at(kept, *centre, kept.rgb.shape[1]) == 2
    assert face_at(kept, centre[0] / 2, centre[1] / 2, kept.rgb.shape[1] // 2) == 2  # shown smaller
    assert face_at(kept, 1, 1, kept.rgb.shape[1]) is None and face_at(None, 1, 1, 10) is None
