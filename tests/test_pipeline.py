"""The core API, drawing, and the command line on real photos."""

from __future__ import annotations

import csv
from dataclasses import replace
import json

import numpy as np
import pytest

from conftest import EXAMPLES
from emotion_recognition.cli import photo as cli
from emotion_recognition.core.annotate import EMOTION_COLOURS, draw, label_text
from emotion_recognition.core.errors import EmotionAppError, ImageDecodeError
from emotion_recognition.core.labels import EMOTIONS4, EMOTIONS7
from emotion_recognition.core.pipeline import no_face_message
from emotion_recognition.core.rows import row_columns
from emotion_recognition.core.types import Box, Face

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("emotion_set, labels", [("emotion7", EMOTIONS7), ("emotion4", EMOTIONS4)])
def test_every_face_gets_a_label_and_all_probabilities(recognizer, emotion_set, labels):
    result = recognizer.analyze(EXAMPLES / "three_faces.jpg", emotion_set)
    assert len(result.faces) == 3 and result.message == ""
    assert [face.label for face in result.faces] == ["happy", "neutral", "happy"]
    for face in result.faces:
        assert tuple(face.probabilities) == labels
        assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
        assert face.label == max(face.probabilities, key=face.probabilities.get)
        assert face.confidence == pytest.approx(face.probabilities[face.label])
    assert min(result.faces[0].confidence, result.faces[2].confidence) > 0.9  # broad smiles
    for number, as_dict in enumerate(result.face_dicts(), 1):
        assert set(as_dict) == {"face", "box", "label", "confidence", "probabilities"}
        assert as_dict["face"] == number and len(as_dict["box"]) == 4


def test_mirror_image_faces_get_the_same_probabilities(recognizer):
    left, _, right = recognizer.analyze(EXAMPLES / "three_faces.jpg").faces
    assert left.label == right.label == "happy"
    assert abs(left.box.w - right.box.w) <= 2
    assert left.box.angle == pytest.approx(-right.box.angle, abs=1.0)  # tilted the other way
    for name in EMOTIONS7:  # the right-hand astronaut is the left one mirrored
        assert left.probabilities[name] == pytest.approx(right.probabilities[name], abs=0.02)


@pytest.mark.parametrize("angle", [0.0, 12.0, -20.0])
def test_a_mirrored_face_gets_the_mirrored_crop_and_the_same_answer(recognizer, angle):
    """Framing and turning are mirror-symmetric (a wrong sign of the angle, or a frame
    shifted sideways, gives crops 35-60 grey levels apart), so with the model's own flip
    averaging a mirrored face gets the same probabilities."""
    from emotion_recognition.core.crops import face_crops, to_grey
    from emotion_recognition.core.decode import decode_image

    grey = to_grey(decode_image(EXAMPLES / "grace_hopper.jpg"))
    mirrored = np.ascontiguousarray(grey[:, ::-1])
    box = Box(152, 104, 226, 226, angle)
    mirror_box = Box(grey.shape[1] - box.x - box.w, box.y, box.w, box.h, -angle)
    crop, mirror_crop = face_crops(grey, [box]), face_crops(mirrored, [mirror_box])
    assert np.abs(crop.astype(int) - mirror_crop[:, :, ::-1]).mean() < 6  # one pixel of rounding
    classifier = recognizer.classifier("emotion7")
    assert np.abs(classifier.predict(crop) - classifier.predict(mirror_crop)).max() < 0.02


def test_no_face_gives_the_message(recognizer):
    result = recognizer.analyze(EXAMPLES / "coffee_no_face.jpg")
    assert result.faces == [] and result.message == no_face_message(40)
    # The same figure for a webcam frame (Snapshot) and a 12 MP photo (issue 17: 34 and 32)
    for shape in [(480, 640, 3), (3000, 4000, 3)]:
        assert recognizer.analyze(np.full(shape, 90, np.uint8)).message == result.message
    huge = recognizer.analyze(np.full((1000, 16000, 3), 90, np.uint8))  # searched coarser
    assert "at least 40 pixels wide" not in huge.message


def test_bad_input_and_unknown_emotion_set(recognizer):
    with pytest.raises(ImageDecodeError):
        recognizer.analyze(b"not an image")
    with pytest.raises(EmotionAppError, match="Unknown emotion set"):
        recognizer.analyze(EXAMPLES / "astronaut.jpg", "emotion5")


def test_accepts_arrays_and_bytes(recognizer):
    from_bytes = recognizer.analyze((EXAMPLES / "astronaut.jpg").read_bytes())
    from_array = recognizer.analyze(from_bytes.image)
    assert [f.box for f in from_bytes.faces] == [f.box for f in from_array.faces]
    assert [f.probabilities for f in from_bytes.faces] == [f.probabilities for f in from_array.faces]
    assert from_bytes.faces[0].label == "happy" and from_bytes.faces[0].confidence > 0.9


def _same_answer(a, b, box_px: int = 2, probability: float = 0.02):
    assert len(a.faces) == len(b.faces) > 0
    for x, y in zip(a.face_dicts(), b.face_dicts()):
        assert np.abs(np.subtract(x["box"], y["box"])).max() <= box_px
        assert x["label"] == y["label"]
        for name, p in x["probabilities"].items():
            assert y["probabilities"][name] == pytest.approx(p, abs=probability)


def test_an_opencv_array_said_to_be_bgr_gives_the_answer_of_the_file(recognizer):
    import cv2

    path = EXAMPLES / "three_faces.jpg"  # taken as RGB, the middle face's answer moves 0.07
    from_file = recognizer.analyze(path)
    bgr = cv2.imread(str(path))
    _same_answer(from_file, recognizer.analyze(bgr, channels="bgr"), probability=0.005)
    _same_answer(from_file, recognizer.analyze(np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)]),
                                               channels="bgr"))  # BGRA, opaque
    assert (recognizer.analyze(bgr, channels="bgr").image == from_file.image).mean() > 0.9
    with pytest.raises(ImageDecodeError, match="channels must be 'rgb' or 'bgr'"):
        recognizer.analyze(bgr, channels="hsv")


def test_arrays_are_held_to_a_photos_limits_and_reduced_like_one(recognizer, tmp_path):
    from PIL import Image

    from emotion_recognition.core.limits import LIMITS

    with pytest.raises(ImageDecodeError, match="the limit is 40 megapixels"):
        recognizer.analyze(np.zeros((6500, 6500, 3), np.uint8), limits=LIMITS)  # the server's
    with pytest.raises(ImageDecodeError, match="megapixels"):  # any limits passed
        recognizer.analyze(np.zeros((1, 1, 3), np.uint8), limits=replace(LIMITS, photo_pixels=0))
    with pytest.raises(ImageDecodeError, match="times longer than wide"):
        recognizer.analyze(np.zeros((100, 2500), np.uint8))
    large = Image.open(EXAMPLES / "three_faces.jpg").convert("RGB").resize((5600, 3800))
    path = tmp_path / "large.png"
    large.save(path)
    from_array, from_file = recognizer.analyze(np.asarray(large)), recognizer.analyze(path)
    assert from_array.scale == from_file.scale == 2.0
    assert from_array.image.shape == from_file.image.shape == (1900, 2800, 3)
    _same_answer(from_file, from_array)
    assert recognizer.analyze(large).scale == 2.0  # a PIL image too


def test_classifier_handles_an_empty_batch(recognizer):
    assert recognizer.classifier("emotion4").predict(np.zeros((0, 48, 48, 1))).shape == (0, 4)


def _face(label, box=Box(20, 30, 40, 40)):
    return Face(box, label, 0.92, {label: 0.92})


def test_draw_boxes_in_the_emotion_colour_without_touching_the_input():
    image = np.zeros((120, 160, 3), np.uint8)
    drawn = draw(image, [_face("happy")])
    assert image.max() == 0
    assert drawn[60, 20].tolist() == list(EMOTION_COLOURS["happy"])  # left edge of the box
    assert drawn[72:100, 20:60].any()  # no room above (the top band is kept free): below the box
    assert label_text("happy", 0.9249) == "happy 92%"


def test_draw_label_at_the_edges_and_on_tiny_and_huge_images():
    corner = draw(np.zeros((50, 50, 3), np.uint8), [_face("sad", Box(0, 0, 50, 50))])
    assert corner[3:47, 3:47].any()  # label moved inside the box when there is no room outside
    huge = draw(np.zeros((3000, 4000, 3), np.uint8), [_face("angry", Box(1000, 1000, 900, 900))])
    assert huge[900:1000, 1000:1500].any()  # text scaled up with the face


def test_cli_writes_csv_json_and_annotated_images(tmp_path, capsys):
    csv_path, json_path, out = tmp_path / "faces.csv", tmp_path / "faces.json", tmp_path / "ann"
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"")
    code = cli.main([str(EXAMPLES), str(bad), "--csv", str(csv_path), "--json", str(json_path),
                     "--annotated", str(out), "--emotions", "4"])
    assert code == 0
    rows = list(csv.DictReader(csv_path.open()))
    group = [r for r in rows if r["source"].endswith("three_faces.jpg")]
    assert [r["face"] for r in group] == ["1", "2", "3"] and {r["status"] for r in group} == {"face"}
    assert list(rows[0]) == list(row_columns(EMOTIONS4))  # the one face-row schema
    assert [r["status"] for r in rows if r["source"].endswith("coffee_no_face.jpg")] == ["no_face"]
    records = json.loads(json_path.read_text())
    assert [{k: "" if v is None else str(v) for k, v in r.items()} for r in records] == rows
    (broken,) = [r for r in records if r["status"] == "error"]
    assert "empty" in broken["error"] and broken["source"] == str(bad)
    from os.path import commonpath

    mirrored = EXAMPLES.relative_to(commonpath([EXAMPLES, tmp_path]))  # cli/outputs.py
    assert (out / mirrored / "astronaut_annotated.jpg").is_file()
    assert "file(s)" in capsys.readouterr().err


def test_the_detector_can_be_chosen_and_an_unknown_one_is_refused(recognizer, tmp_path, capsys):
    import cv2

    turned = cv2.warpAffine(recognizer.analyze(EXAMPLES / "astronaut.jpg").image,
                            cv2.getRotationMatrix2D((256, 256), 30, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REPLICATE)
    for name in ("haar", "blazeface", "combined"):
        assert len(recognizer.analyze(EXAMPLES / "three_faces.jpg", detector=name).faces) == 3
        (face,) = recognizer.analyze(turned, detector=name).faces  # turned: its crop upright
        assert face.box.angle < -15
    assert recognizer.detector_named("blazeface") is recognizer.detector_named("blazeface")
    assert recognizer.new_detector("blazeface") is not recognizer.detector_named("blazeface")
    with pytest.raises(EmotionAppError, match="Unknown face detector"):
        recognizer.analyze(EXAMPLES / "astronaut.jpg", detector="yolo")
    json_path = tmp_path / "faces.json"
    assert cli.main([str(EXAMPLES / "three_faces.jpg"), "--detector", "blazeface",
                     "--json", str(json_path)]) == 0
    rows = json.loads(json_path.read_text())
    assert [row["face"] for row in rows] == [1, 2, 3]
    with pytest.raises(SystemExit):
        cli.main([str(EXAMPLES), "--detector", "yolo"])
    assert "invalid choice" in capsys.readouterr().err


def test_cli_with_nothing_to_read(tmp_path):
    assert cli.main([str(tmp_path)]) == 2


def test_explanations_only_when_asked(recognizer):
    plain = recognizer.analyze(EXAMPLES / "three_faces.jpg")
    assert plain.explanations == [] and all("explanation" not in f for f in plain.face_dicts())
    explained = recognizer.analyze(EXAMPLES / "three_faces.jpg", explain=True)
    dicts = explained.face_dicts()
    assert len(explained.explanations) == 3 and all(len(d["explanation"]["heatmap"]) == 12 for d in dicts)
    assert [e.label for e in explained.explanations] == [f.label for f in explained.faces]
    again = recognizer.analyze_decoded(explained.image, "emotion4")  # kept pixels, other set
    assert [f.box for f in again.faces] == [f.box for f in explained.faces]


def test_a_tracked_face_carries_its_kept_number_in_its_dict():
    face = Face(Box(1, 2, 3, 4), "happy", 0.9, {"happy": 0.9}, face_id=7)
    assert face.to_dict(2)["face"] == 7 and _face("sad").to_dict(2)["face"] == 2


def test_every_front_end_gives_a_large_photos_boxes_in_its_own_pixels(recognizer, tmp_path):
    """A photo over the working size is analysed at reduced size; the API, the command
    line and batch all report its faces in the photo's own pixels, numbered from 1."""
    from PIL import Image

    path = tmp_path / "large.jpg"
    Image.open(EXAMPLES / "three_faces.jpg").resize((5600, 3800)).save(path, quality=85)
    result = recognizer.analyze(path)
    assert result.scale == pytest.approx(2.0) and result.faces
    api = [face["box"] for face in result.face_dicts()]
    assert api == [f.box.scaled(2.0).as_list() for f in result.faces]
    rows = cli.analyze_files([path], recognizer, "emotion7", None)
    assert [[r["x"], r["y"], r["w"], r["h"]] for r in rows] == api
    assert [r["face"] for r in rows] == list(range(1, len(api) + 1))
    pytest.importorskip("pyarrow")
    from emotion_recognition.batch.stages import BOX_FIELDS, detect_one

    detected = detect_one(str(path))
    boxes = [detected["boxes"][i:i + 4] for i in range(0, len(detected["boxes"]), BOX_FIELDS)]
    assert boxes == api
