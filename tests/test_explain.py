"""Why this emotion: occlusion heat maps on a model whose answer we know, and on a real face."""

from __future__ import annotations

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
