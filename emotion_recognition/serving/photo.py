"""The photo and snapshot actions the UI calls, free of Gradio: analyze an upload (again,
with other settings, from the session's kept photo), what the results panel shows, which
face a click picked, whether a photo is still the session's.

User errors are raised as EmotionAppError (the UI shows them as one clear message).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from emotion_recognition.core.annotate import display_size, draw, for_display, jpeg_bytes
from emotion_recognition.core.detection.detectors import DEFAULT_DETECTOR
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.labels import DEFAULT_EMOTION_SET
from emotion_recognition.core.types import Analysis, Box
from emotion_recognition.serving.kept_photos import (KeptPhoto, analyze_kept, analyze_new,
                                                    face_at)
from emotion_recognition.serving.log import log_user_error
from emotion_recognition.serving.tables import (boxes_table, face_name, faces_table_widths,
                                                styled_faces_table)

if TYPE_CHECKING:
    from emotion_recognition.serving.server import Server

NO_PHOTO = "Please upload a photo or take a webcam snapshot first."


def analyze(server: Server, image: str | None, emotion_set: str | None = DEFAULT_EMOTION_SET,
            explain: bool = False, kept: str | None = None,
            detector: str | None = DEFAULT_DETECTOR) -> tuple[str, list[dict], dict, str]:
    """A photo just uploaded (a path in the store), read anew -> (the annotated JPEG's path,
    the face dicts with their boxes in the photo's own pixels, the annotated image's size
    and scale (image_size), the key of the session's kept photo)."""
    if image is None:
        raise EmotionAppError(NO_PHOTO)
    photo, result = analyze_new(server.recognizer, image, server.files.claim,
                                emotion_set or DEFAULT_EMOTION_SET, bool(explain),
                                detector or DEFAULT_DETECTOR)
    return _answer(server, photo, result, kept)


def analyze_again(server: Server, shown: str | None, emotion_set: str | None,
                  explain: bool, kept: str | None, detector: str | None
                  ) -> tuple[str, list[dict], dict, str]:
    """Analyse the photo shown (``shown``: its path) again with these settings: from the
    session's kept photo when it is that photo (the upload itself is long deleted), else
    read as a new upload (one whose first analysis did not run)."""
    photo = server.kept_photos.get(kept)
    if not shown or photo is None or photo.source != shown:
        return analyze(server, shown or None, emotion_set, explain, kept, detector)
    photo, result = analyze_kept(server.recognizer, photo, emotion_set or DEFAULT_EMOTION_SET,
                                 bool(explain), detector or DEFAULT_DETECTOR)
    return _answer(server, photo, result, kept)


def _answer(server: Server, photo: KeptPhoto, result, kept: str | None
            ) -> tuple[str, list[dict], dict, str]:
    """The annotated picture written for this request, the faces, and the photo kept."""
    with server.files.result_dir() as out:  # this request's own file: never shared, rewritten
        annotated = out / "annotated.jpg"
        shown = for_display(draw(result.image, result.faces))
        annotated.write_bytes(jpeg_bytes(shown, 90))
    return (str(annotated), result.face_dicts(), image_size(result, shown.shape),
            server.kept_photos.put(kept, photo))


def image_size(result: Analysis, shown: tuple[int, ...]) -> dict:
    """The annotated image of ``result`` as sent (``shown``: its array's shape): its
    width and height, and ``scale``, the photo's own pixels per pixel of it (1 unless the
    photo was analysed at reduced size, over LIMITS.working_pixels, or is wider than
    LIMITS.display_side). Boxes are in the photo's pixels: divided by ``scale`` they are
    the annotated image's."""
    height, width = shown[:2]
    return {"width": width, "height": height,
            "scale": round(result.scale * result.image.shape[1] / width, 6)}


def same_face(before: list[dict] | None, index, after: list[dict]) -> int | None:
    """The index in ``after`` of the face picked (``index``) in ``before``: the face whose
    box overlaps it most (at least half as an IoU), or None."""
    if not before or not isinstance(index, int) or not 0 <= index < len(before):
        return None
    picked = Box(*before[index]["box"])
    overlaps = [(picked.overlap(Box(*face["box"])), i) for i, face in enumerate(after)]
    best = max(overlaps, default=(0.0, None))
    return best[1] if best[0] >= 0.5 else None


def analyze_upload(server: Server, image: str, emotion_set: str | None, explain: bool,
                   kept: str | None, detector: str | None
                   ) -> tuple[str | None, list[dict], str | None, str]:
    """A new upload, analysed at once: analyze's answer (without the image's size, which
    only the API gives) and no message; or, for a file we cannot take (not an image, too
    large), no result and the message (Markdown) to show where the result would be."""
    try:
        annotated, faces, _, key = analyze(server, image, emotion_set, explain, kept, detector)
        return annotated, faces, key, ""
    except EmotionAppError as error:
        log_user_error("upload", str(error))
        return None, [], None, f"**{error}**"


@dataclass(frozen=True)
class PhotoView:
    """What the results panel shows of the session's latest analysis."""

    note: str = ""                                   # a sentence, Markdown
    choices: list[tuple[str, int]] = field(default_factory=list)  # face names (picker)
    faces: list[dict] = field(default_factory=list)
    table: object = None                             # styled_faces_table, or None
    widths: list[str] = field(default_factory=list)
    boxes: pd.DataFrame | None = None
    heat_maps: list[tuple[np.ndarray, str]] = field(default_factory=list)


def view(server: Server, kept: str | None) -> PhotoView:
    """The results panel of the session's latest analysis (nothing when there is none)."""
    photo = server.kept_photos.get(kept)
    result = photo.analysis if photo is not None else None
    faces = result.face_dicts() if result is not None else []
    if not faces:
        return PhotoView(f"**{result.message}**" if result is not None else "")
    names = [face_name(face) for face in faces]
    note = f"**{len(faces)} face{'s' if len(faces) > 1 else ''} found.** " + (
        "Pick yours below (or click it in the picture): the bars show its emotions, and it is "
        "the face *Add to my journal* adds." if len(faces) > 1 else "")
    return PhotoView(note, [(name, i) for i, name in enumerate(names)], faces,
                     styled_faces_table(faces), faces_table_widths(len(faces[0]["probabilities"])),
                     boxes_table(shown_faces(photo)), list(zip(photo.heat_maps, names)))


def shown_faces(photo: KeptPhoto) -> list[dict]:
    """The kept analysis's face dicts with their boxes in the pixels of the annotated
    picture shown beside the table (the photo's own pixels only when it was analysed whole
    and sent whole)."""
    factor = display_size(*photo.shape)[0] / photo.shape[1]
    return [face.to_dict(number) for number, face in enumerate(
        (replace(face, box=face.box.scaled(factor)) for face in photo.analysis.faces), 1)]


def bars(faces: list[dict] | None, index) -> tuple[str, dict[str, float]] | None:
    """One face's confidence bars: (its name, its probabilities); None for no such face."""
    if not faces or index is None or not 0 <= int(index) < len(faces):
        return None
    face = faces[int(index)]
    return face_name(face), face["probabilities"]


def face_at_click(server: Server, kept: str | None, where) -> int | None:
    """The face whose label or box is under a click at ``where`` (x, y in the shown
    picture), or None."""
    photo = server.kept_photos.get(kept)
    if photo is None or not (isinstance(where, (list, tuple)) and len(where) == 2
                             and all(isinstance(v, (int, float)) for v in where)):
        return None
    shown_width = display_size(*photo.shape)[0]
    label = label_at(photo, where[0], where[1], shown_width)
    return label if label is not None else face_at(photo, where[0], where[1], shown_width)


def label_at(photo: KeptPhoto, x: float, y: float, shown_width: int) -> int | None:
    """The index of the face whose label (as draw() placed it) is under (x, y) in the
    picture shown ``shown_width`` pixels wide, or None."""
    if photo.analysis is None or not photo.analysis.faces or shown_width <= 0:
        return None
    factor = photo.shape[1] / shown_width
    return next((i for i, tag in enumerate(photo.tags) if tag.contains(x * factor, y * factor)),
                None)


def is_current(server: Server, image: str | None, kept: str | None) -> bool:
    """Whether ``image`` is the session's latest analysed photo (an analysis started at
    once may finish before the event that clears the results)."""
    photo = server.kept_photos.get(kept)
    return image is not None and photo is not None and photo.source == image
