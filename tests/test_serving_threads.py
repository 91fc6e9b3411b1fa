"""The interpreter threads a served network runs on (LiteRT's num_threads): SERVING_THREADS
for the app, the CPUs a batch actor reserved for its classifier, and TensorFlow's intra-op
threads when the Keras file serves. LiteRT runs num_threads - 1 worker threads beside the
caller's, so a fresh process shows how many it was given."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.unit

COUNT_THREADS = """
import os, sys
import numpy as np
exec(sys.argv[2])  # imports, and make(): the classifier
before = len(os.listdir("/proc/self/task"))
classifier = make()
classifier.predict(np.zeros((2, 48, 48, 1), np.uint8))
print(classifier.backend, classifier.model.network.threads,
      len(os.listdir("/proc/self/task")) - before)
"""

APP = """
from emotion_recognition.core.pipeline import EmotionRecognizer
make = lambda: EmotionRecognizer(sys.argv[1]).classifier("emotion7")
"""

BATCH_ACTOR = """
from emotion_recognition.batch.model import load_bundle
from emotion_recognition.batch.stages import FaceClassifier
make = lambda: FaceClassifier(load_bundle("emotion7", sys.argv[1]), threads=3).classifier
"""


def _threads(loading: str) -> tuple[str, int, int]:
    """(backend, the threads its network was given, threads the process gained)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", COUNT_THREADS, str(ROOT / "model"), loading],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    backend, given, gained = done.stdout.split()[-3:]
    return backend, int(given), int(gained)


def test_the_app_serves_on_serving_threads():
    from emotion_recognition.core.classify import SERVING_THREADS

    assert _threads(APP) == ("litert", SERVING_THREADS, SERVING_THREADS - 1)


def test_a_batch_actor_classifies_on_the_cpus_it_reserved():
    assert _threads(BATCH_ACTOR) == ("litert", 3, 2)


def test_the_keras_fallback_sets_tensorflow_threads():
    environment = {name: value for name, value in os.environ.items()
                   if name != "TF_NUM_INTRAOP_THREADS"}
    environment.update(PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    code = ("import sys, tensorflow as tf\n"
            "from emotion_recognition.core.classify import EmotionClassifier\n"
            "EmotionClassifier.from_dir(sys.argv[1], 'emotion7', backend='keras', threads=2)\n"
            "print(tf.config.threading.get_intra_op_parallelism_threads())\n")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "model")], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) == 2
