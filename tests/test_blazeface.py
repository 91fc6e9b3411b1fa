"""BlazeFace read by our code: anchors, decoding, weighted suppression, model input, detection."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.decode import decode_image
from emotion_recognition.core.detection import blazeface
from emotion_recognition.core.detection.blazeface import (BlazeFace, Decoded, MODELS, Region,
                                                          decode, region_input, ssd_anchors,
                                                          weighted_nms)
from emotion_recognition.core.types import Box

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def models():
    return {name: BlazeFace(name) for name in MODELS}


def test_anchor_grids_match_the_models_outputs(models):
    short, full = ssd_anchors(MODELS["short"].ssd), ssd_anchors(MODELS["full"].ssd)
    assert short.shape == (896, 2) and full.shape == (2304, 2)  # 16x16x2 + 8x8x6; 48x48x1
    assert np.allclose(short[0], short[1]) and np.allclose(short[0], [0.5 / 16, 0.5 / 16])
    assert np.allclose(short[2], [1.5 / 16, 0.5 / 16])  # x varies first, two anchors per cell
    assert np.allclose(short[512], [0.5 / 8, 0.5 / 8]) and np.allclose(short[512:518], short[512])
    assert np.allclose(full[1], [1.5 / 48, 0.5 / 48])
    assert np.allclose(full[48], [0.5 / 48, 1.5 / 48])
    assert short.min() > 0 and short.max() < 1 and full.min() > 0 and full.max() < 1
    for name, model in models.items():  # as many anchors as the model predicts
        raw_boxes, raw_scores = model.raw(np.zeros((1, model.input_size, model.input_size, 3),
                                                    np.float32))
        assert raw_boxes.shape == (len(model.anchors), 16)
        assert raw_scores.shape == (len(model.anchors), 1)


def test_decoding_offsets_are_input_pixels_from_the_anchor():
    anchors = np.array([[0.25, 0.5], [0.75, 0.75]], np.float32)
    raw = np.zeros((2, 16), np.float32)
    raw[0, :4] = [12.8, -6.4, 32, 64]  # centre moved 0.1 right, 0.05 up; 0.25 x 0.5 of the input
    raw[0, 4:6] = [-12.8, 0]  # first keypoint 0.1 left of the anchor
    decoded = decode(raw, np.array([[0.0], [200.0]]), anchors, 128)
    assert np.allclose(decoded.boxes[0], [0.35 - 0.125, 0.45 - 0.25, 0.35 + 0.125, 0.45 + 0.25])
    assert np.allclose(decoded.keypoints[0, 0], [0.15, 0.5])
    assert np.allclose(decoded.keypoints[0, 1], [0.25, 0.5])
    assert decoded.keypoints.shape == (2, 6, 2)
    assert decoded.scores[0] == pytest.approx(0.5) and decoded.scores[1] == pytest.approx(1.0)
    assert np.isfinite(decoded.scores).all()  # a huge logit is clipped, not an overflow


def test_decoding_only_the_anchors_that_score_enough_changes_nothing():
    """decode(min_score) keeps exactly the anchors the full decoding scores that high, with
    the same boxes and keypoints (a check decodes a handful of anchors, not 896)."""
    rng = np.random.default_rng(3)
    anchors = ssd_anchors(MODELS["short"].ssd)
    raw = rng.normal(0, 20, (len(anchors), 16)).astype(np.float32)
    logits = rng.normal(-4, 3, (len(anchors), 1)).astype(np.float32)
    every, some = decode(raw, logits, anchors, 128), decode(raw, logits, anchors, 128, 0.5)
    kept = every.scores >= 0.5
    assert 0 < kept.sum() < len(anchors)
    assert np.array_equal(some.boxes, every.boxes[kept])
    assert np.array_equal(some.keypoints, every.keypoints[kept])
    assert np.array_equal(some.scores, every.scores[kept])
    none = decode(raw, logits, anchors, 128, 1.1)  # nothing scores that high
    assert none.boxes.shape == (0, 4) and none.keypoints.shape == (0, 6, 2)


def test_two_threads_find_what_one_finds():
    """BlazeFace runs on up to MAX_THREADS threads (as many as OpenCV uses): the same faces."""
    grey = to_grey(decode_image(EXAMPLES / "astronaut.jpg"))
    for name in MODELS:
        (one,) = BlazeFace(name, threads=1).detect(grey)
        (two,) = BlazeFace(name, threads=2).detect(grey)
        assert one.box == two.box and one.score == pytest.approx(two.score, abs=1e-4)
        assert np.allclose(one.keypoints, two.keypoints, atol=0.05)


def test_weighted_suppression_merges_one_face_and_keeps_two_apart():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8],
                      [0.6, 0.6, 0.8, 0.8]], np.float32)
    points = np.repeat(boxes[:, None, :2], 6, axis=1)
    scores = np.array([0.9, 0.6, 0.7, 0.2], np.float32)  # the last is below the threshold
    merged = weighted_nms(Decoded(boxes, points, scores), min_score=0.5)
    assert len(merged) == 2
    (first, first_points, first_score), (second, _, second_score) = merged
    assert first_score == pytest.approx(0.9) and second_score == pytest.approx(0.7)
    assert first[0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.6) / 1.5)  # averaged by score
    assert first_points[0, 0] == pytest.approx(first[0])
    assert np.allclose(second, boxes[2])
    assert weighted_nms(Decoded(boxes, points, scores), min_score=0.95) == []


def test_model_input_letterboxes_and_reads_only_the_image():
    grey = np.full((100, 200), 255, np.uint8)
    tensor = region_input(grey, Region.whole(100, 200), 128)
    assert tensor.shape == (1, 128, 128, 3) and tensor.dtype == np.float32
    assert tensor.min() == -1.0 and tensor.max() == 1.0
    assert (tensor[0, 40:88] == 1.0).all() and (tensor[0, :30] == -1.0).all()  # black bands
    beyond = region_input(grey, Region(150, 50, 100), 128)  # half of it outside, to the right
    assert (beyond[0, :64, :64] == 1.0).all() and (beyond[0, :, 70:] == -1.0).all()
    outside = region_input(grey, Region(1000, 1000, 50), 128)
    assert (outside == -1.0).all()
    rgb = np.zeros((10, 10, 3), np.uint8)
    huge = region_input(rgb, Region(-1e6, -1e6, 2e6 + 10), 128)  # no 2e6-pixel canvas is made
    assert huge.shape == (1, 128, 128, 3)


@pytest.mark.parametrize("name", ["short", "full"])
def test_the_astronaut_has_one_face_with_its_keypoints(models, name):
    rgb = decode_image(EXAMPLES / "astronaut.jpg")
    for image in (rgb, to_grey(rgb)):
        (face,) = models[name].detect(image)
        assert face.score > 0.8
        box = face.box
        assert box.x <= 220 <= box.x + box.w and box.y <= 110 <= box.y + box.h  # between the eyes
        assert 70 <= box.w <= 130
        right_eye, left_eye = face.keypoint("right_eye"), face.keypoint("left_eye")
        assert right_eye[0] < left_eye[0]  # her right eye is on the picture's left
        assert abs(right_eye[1] - left_eye[1]) < 10 and right_eye[1] < face.keypoint("mouth")[1]


def test_a_face_in_a_region_is_found_in_image_pixels(models):
    grey = to_grey(decode_image(EXAMPLES / "astronaut.jpg"))
    (face,) = models["short"].detect(grey, Region.around(Box(174, 65, 99, 99), 2.0))
    (whole,) = models["short"].detect(grey)
    assert abs(face.box.x - whole.box.x) < 10 and abs(face.box.w - whole.box.w) < 15


def test_no_face_on_blank_noise_or_coffee(models):
    coffee = decode_image(EXAMPLES / "coffee_no_face.jpg")
    noise = np.random.default_rng(0).integers(0, 256, (480, 640), dtype=np.uint8)
    for model in models.values():
        for image in (np.zeros((480, 640), np.uint8), np.full((300, 300, 3), 200, np.uint8),
                      noise, coffee):
            assert model.detect(image) == []
        assert model.detect(np.zeros((1, 1), np.uint8)) == []
        assert model.detect(np.zeros((0, 5), np.uint8)) == []


def test_an_unknown_model_or_a_missing_file_is_a_clear_error(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="short"):
        BlazeFace("huge")
    monkeypatch.setattr(blazeface, "MODEL_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="missing"):
        BlazeFace("short").detect(np.zeros((50, 50), np.uint8))
