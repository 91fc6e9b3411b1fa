"""Why this emotion: occlusion heat maps on a model whose answer we know, and on a real face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import EXAMPLES
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.explain import (PATCH, STRIDE, explain_faces, occluded_batch,
                                              occlusion_map, overlay)
from emotion_recognition.core.types import Box, Explanation

pytestmark = pytest.mark.unit


class MouthModel:
    """'happy' exactly as bright as the face's bottom-middle (the mouth) is."""

    labels = ("happy", "sad")

    def predict(self, batch):
        happy = batch[:, 32:44, 16:32, 0].mean(axis=(1, 2)) / 255.0
        return np.stack([happy, 1 - happy], axis=1)


def test_each_occluded_copy_hides_one_patch_with_the_mean_grey():
    face = np.arange(48 * 48, dtype=np.uint32).reshape(48, 48) % 200
    face = face.astype(np.uint8)
    batch, corners = occluded_batch(face)
    positions = (48 - PATCH) // STRIDE + 1
    assert batch.shape == (positions ** 2 + 1, 48, 48, 1) and len(corners) == positions ** 2
    assert (batch[0, ..., 0] == face).all()
    y, x = corners[5]
    changed = batch[6, ..., 0] != face
    assert changed.any() and not changed[:y].any() and not changed[y + PATCH:].any()
    assert (batch[6, y:y + PATCH, x:x + PATCH, 0] == round(float(face.mean()))).all()


def test_the_heat_map_finds_the_region_the_model_uses():
    face = np.full((48, 48), 60, np.uint8)
    face[32:44, 16:32] = 250  # a bright mouth: 'happy'
    heat, index = occlusion_map(face, MouthModel())
    assert index == 0 and heat.shape == (48, 48) and heat.max() == pytest.approx(1.0)
    assert heat[36:42, 20:28].mean() > 0.8
    assert heat[:20].max() == 0.0  # hiding the forehead changes nothing


def test_a_real_face_gets_one_explanation_with_a_grid_for_the_api(recognizer):
    result = recognizer.analyze(EXAMPLES / "astronaut.jpg")
    classifier = recognizer.classifier("emotion7")
    (explanation,) = explain_faces(to_grey(result.image), result.faces, classifier)
    assert explanation.label == result.faces[0].label
    assert explanation.heat.min() >= 0 and explanation.heat.max() == pytest.approx(1.0)
    as_dict = explanation.to_dict()
    assert len(as_dict["heatmap"]) == 12 and len(as_dict["heatmap"][0]) == 12
    assert as_dict["frame"][2] > result.faces[0].box.w  # the frame around the face box
    picture = overlay(result.image, explanation)
    assert picture.shape == (192, 192, 3) and picture.dtype == np.uint8


def test_overlay_leaves_cold_regions_untouched():
    rgb = np.full((100, 100, 3), 128, np.uint8)
    heat = np.zeros((48, 48), np.float32)
    heat[:24] = 1.0
    picture = overlay(rgb, Explanation("happy", Box(0, 0, 100, 100), heat), side=96)
    assert (picture[80:] == 128).all() and (picture[:20] != 128).any()


def test_a_tilted_faces_heat_map_peaks_on_the_face_where_the_photo_shows_it():
    """The model sees the crop turned upright; the heat it gives is turned back onto the
    photo, so the hot spot lies on the (tilted) mouth the model used, not beside it."""
    from emotion_recognition.core.crops import crop_padded, face_frame
    from emotion_recognition.core.explain import heat_on_frame
    from emotion_recognition.core.pipeline import faces_of

    box = Box(60, 60, 120, 120, angle=30.0)  # a face tilted by 30 degrees
    frame = face_frame(box)
    upright = np.zeros((frame.h, frame.w), np.uint8)  # the crop the model sees: a mouth
    upright[frame.h * 32 // 48:frame.h * 44 // 48, frame.w * 16 // 48:frame.w * 32 // 48] = 255
    into_photo = cv2.getRotationMatrix2D((frame.w / 2, frame.h / 2), -box.angle, 1.0)
    into_photo[:, 2] += (frame.x, frame.y)
    grey = np.full((300, 300), 60, np.uint8)
    mouth = cv2.warpAffine(upright, into_photo, (300, 300))
    grey = np.maximum(grey, mouth)
    model = MouthModel()  # happy: as bright as the upright crop's mouth
    faces = faces_of([box], np.array([[0.9, 0.1]]), model.labels)  # labelled happy
    (explanation,) = explain_faces(grey, faces, model)
    assert explanation.frame.angle == 30.0
    assert explanation.to_dict()["frame"] == [*frame.as_list(), 30.0]
    side = 192
    shown = cv2.resize(crop_padded(grey, frame), (side, side), interpolation=cv2.INTER_AREA)
    heat = heat_on_frame(explanation, side)
    ys, xs = np.nonzero(shown > 128)  # the mouth, as the photo shows it
    rows, columns = np.mgrid[0:side, 0:side]
    centre = (heat * columns).sum() / heat.sum(), (heat * rows).sum() / heat.sum()
    assert np.hypot(centre[0] - xs.mean(), centre[1] - ys.mean()) < 6  # unturned: 29 px off
    assert shown[np.unravel_index(heat.argmax(), heat.shape)] > 128  # the peak on the mouth
    picture = overlay(np.dstack([grey] * 3), explanation, side)
    reddest = np.unravel_index(np.argmax(picture[..., 0].astype(int) - picture[..., 2]),
                               picture.shape[:2])
    assert shown[reddest] > 128


def test_the_api_frame_of_a_tilted_face_gives_its_angle(recognizer):
    turned = cv2.warpAffine(recognizer.analyze(EXAMPLES / "astronaut.jpg").image,
                            cv2.getRotationMatrix2D((256, 256), 20, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REPLICATE)
    result = recognizer.analyze(turned, explain=True)
    (face,) = result.face_dicts()
    frame = face["explanation"]["frame"]
    assert len(frame) == 5 and frame[4] == pytest.approx(result.faces[0].box.angle, abs=0.05)
    assert frame[4] < -10  # turned back by about the 20 degrees it was tilted
