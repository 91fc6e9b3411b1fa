"""TensorFlow's threads when a model is served: one intra-op thread per inference (faster on
the served network's small batches: benchmarks.speed), set before TensorFlow first runs, and
never over a count already chosen (a batch actor's, or TF_NUM_INTRAOP_THREADS)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.unit

LOAD_AND_REPORT = """
import sys
import tensorflow as tf
from emotion_recognition.core.classify import limit_tensorflow_threads
from emotion_recognition.core.pipeline import EmotionRecognizer
if len(sys.argv) > 2:  # chosen first, as a batch actor does for the CPUs it reserved
    limit_tensorflow_threads(int(sys.argv[2]), inter_op=True)
EmotionRecognizer(sys.argv[1]).classifier("emotion7")
print(tf.config.threading.get_intra_op_parallelism_threads())
"""


def _threads_after_loading(*chosen_first: str, **env: str) -> int:
    environment = {name: value for name, value in os.environ.items()
                   if name != "TF_NUM_INTRAOP_THREADS"}
    environment.update(TF_CPP_MIN_LOG_LEVEL="2", **env)
    done = subprocess.run([sys.executable, "-c", LOAD_AND_REPORT, str(ROOT / "model"),
                           *chosen_first], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


def test_a_served_model_runs_on_one_intra_op_thread():
    from emotion_recognition.core.classify import SERVING_THREADS

    assert SERVING_THREADS == 1
    assert _threads_after_loading() == SERVING_THREADS


def test_a_count_chosen_before_is_kept():
    assert _threads_after_loading("3") == 3


def test_the_environment_says_how_many():
    # left to TensorFlow, which reads TF_NUM_INTRAOP_THREADS itself (its setting stays 0)
    assert _threads_after_loading(TF_NUM_INTRAOP_THREADS="2") == 0
