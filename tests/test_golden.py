"""Golden answers (tests/golden): each example photo, through the Python API, gives the
boxes and probabilities pinned in tests/golden/examples.json. A change in detection,
cropping, preprocessing or the model that moves an answer fails here; if it is meant,
regenerate them (python -m tests.golden --write) and let the reviewer read the diff."""

from __future__ import annotations

import pytest

import golden

pytestmark = pytest.mark.unit

PINNED = golden.load()


def test_every_example_photo_has_a_golden_answer():
    assert sorted(PINNED) == [photo.name for photo in golden.photos()]
    assert sum(len(answer["emotion7"]) for answer in PINNED.values()) >= 5  # faces pinned


@pytest.mark.parametrize("name", sorted(PINNED))
def test_an_example_photo_gives_its_golden_answer(recognizer, name):
    got = golden.answer(recognizer, golden.EXAMPLES / name)
    for emotion_set in golden.EMOTION_SETS:
        expected, found = PINNED[name][emotion_set], got[emotion_set]
        assert len(found) == len(expected), f"{emotion_set}: {len(found)} faces"
        for number, (want, have) in enumerate(zip(expected, found), 1):
            where = f"{name} {emotion_set} face {number}"
            assert max(abs(a - b) for a, b in zip(want["box"], have["box"])) <= golden.BOX_PIXELS, where
            assert have["angle"] == pytest.approx(want["angle"], abs=golden.ANGLE_DEGREES), where
            assert list(have["probabilities"]) == list(want["probabilities"]), where
            for label, p in want["probabilities"].items():
                assert have["probabilities"][label] == pytest.approx(
                    p, abs=golden.PROBABILITY), f"{where}: {label}"
