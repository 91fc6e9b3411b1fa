"""The detectors a user can choose: names, tiles, framing, and faces found by each."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from emotion_recognition.core.crops import to_grey
from emotion_recognition.core.decode import decode_image
from emotion_recognition.core.detection import detectors
from emotion_recognition.core.detection.blazeface import Detection, Region
from emotion_recognition.core.detection.detectors import (DEFAULT_DETECTOR, DETECTORS, TileSettings,
                                                          check_detector, create_detector,
                                                          haar_framed, merge_detections,
                                                          tile_regions)
from emotion_recognition.core.errors import EmotionAppError
from emotion_recognition.core.types import Box

pytestmark = pytest.mark.unit


def test_every_detector_name_makes_its_own_working_detector():
    """Each name a user can choose makes a detector of its own kind, with its own models,
    that answers a blank image; no name (an older client) is the default; any other name is
    refused with the list of names."""
    made = {name: create_detector(name) for name in DETECTORS}
    assert len({type(detector) for detector in made.values()}) == len(DETECTORS)
    blank = np.full((240, 320), 128, np.uint8)
    for detector in made.values():
        assert detector.detect(blank) == [] and 0 < detector.smallest_face(blank) < 240
    assert check_detector(None) == check_detector("") == DEFAULT_DETECTOR in DETECTORS
    with pytest.raises(EmotionAppError, match=", ".join(DETECTORS)):
        check_detector("yolo")
    assert create_detector(DEFAULT_DETECTOR) is not create_detector(DEFAULT_DETECTOR)


def test_tiles_cover_the_photo_down_to_the_smallest_face():
    settings = TileSettings(min_face_pixels=40, min_face_in_input=16)  # finest tile: 480 px
    assert tile_regions(480, 640, settings) == [Region(0, -80, 640), Region(0, 0, 480),
                                                Region(160, 0, 480)]
    assert tile_regions(300, 400, settings) == [Region(0, -50, 400)]  # whole is fine enough
    regions = tile_regions(3000, 4000, settings)
    sides = sorted({r.side for r in regions}, reverse=True)
    assert sides == [4000, 2000, 1000, 500]
    for side in sides[1:]:  # each level covers the photo, tiles overlapping
        tiles = [r for r in regions if r.side == side]
        assert min(r.x for r in tiles) == 0 and max(r.x + r.side for r in tiles) == 4000
        assert min(r.y for r in tiles) == 0 and max(r.y + r.side for r in tiles) == 3000
        xs = sorted({r.x for r in tiles})
        assert max(b - a for a, b in zip(xs, xs[1:])) <= 0.75 * side + 1e-6
    assert len(regions) < 150


def detection(x, y, side, score, eyes=((0.3, 0.4), (0.7, 0.4))):
    points = np.zeros((6, 2))
    points[:2] = [(x + ex * side, y + ey * side) for ex, ey in eyes]
    return Detection(Box(x, y, side, side), points, score)


def test_merging_keeps_the_best_of_a_face_seen_on_several_tiles():
    whole, partial = detection(100, 100, 50, 0.9), detection(110, 100, 40, 0.7)
    other = detection(400, 0, 50, 0.6)
    inside = detection(105, 105, 20, 0.95)  # a face-part inside a better face... kept first
    assert merge_detections([partial, whole, other]) == [whole, other]
    assert merge_detections([whole, inside]) == [inside]


def test_framing_as_haar_and_the_eye_line():
    box = haar_framed(detection(100, 100, 100, 0.9))
    side = round(100 * detectors.HAAR_SIDE_PER_BLAZEFACE)
    assert (box.w, box.h) == (side, side) and box.angle == 0.0
    assert box.x + box.w / 2 == pytest.approx(150, abs=1)
    assert box.y + box.h / 2 == pytest.approx(150 - 100 * detectors.HAAR_SHIFT_Y, abs=1)
    tilted = haar_framed(detection(100, 100, 100, 0.9, eyes=((0.3, 0.3), (0.7, 0.5))))
    assert tilted.angle == pytest.approx(np.degrees(np.arctan2(20, 40)), abs=0.1)  # right eye lower
    sideways = haar_framed(detection(100, 100, 100, 0.9, eyes=((0.5, 0.2), (0.5, 0.8))))
    assert sideways.angle == 0.0  # eyes one above the other: no tilt trusted


@pytest.mark.parametrize("name", list(DETECTORS))
def test_each_detector_finds_the_example_faces(name):
    detector = create_detector(name)
    three = detector.detect(to_grey(decode_image(EXAMPLES / "three_faces.jpg")))
    assert len(three) == 3 and [b.x for b in three] == sorted(b.x for b in three)
    (astronaut,) = detector.detect(to_grey(decode_image(EXAMPLES / "astronaut.jpg")))
    assert astronaut.x <= 220 <= astronaut.x + astronaut.w and 70 <= astronaut.w <= 140
    assert detector.detect(to_grey(decode_image(EXAMPLES / "coffee_no_face.jpg"))) == []
    assert detector.detect(np.zeros((1, 1), np.uint8)) == []
    assert detector.smallest_face(np.zeros((3000, 4000), np.uint8)) <= 42


def test_a_face_haar_misses_is_found_by_blazeface_in_the_default():
    import cv2

    grey = to_grey(decode_image(EXAMPLES / "astronaut.jpg"))
    turned = cv2.warpAffine(grey, cv2.getRotationMatrix2D((256, 256), 30, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REPLICATE)
    served = create_detector("haar")
    assert served.haar.detect(turned) == []  # no cascade sees her face turned by 30 degrees
    (box,) = served.detect(turned)
    assert box.angle == pytest.approx(-30, abs=10)  # its crop is turned upright
