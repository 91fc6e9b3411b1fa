"""Small timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import time

import numpy as np


def time_calls(function, repeats: int, warmup: int = 3) -> np.ndarray:
    """Milliseconds per call of ``function()``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def summary(times_ms: np.ndarray) -> str:
    p50, p90 = np.percentile(times_ms, [50, 90])
    return f"p50 {p50:.1f} ms, p90 {p90:.1f} ms, mean {times_ms.mean():.1f} ms (n={len(times_ms)})"


def single_face_ms(classifier, repeats: int = 200) -> float:
    """Median ms for one 48x48 face through a classifier's predict (the served call)."""
    face = np.random.default_rng(0).integers(0, 256, (1, 48, 48, 1)).astype(np.uint8)
    return float(np.median(time_calls(lambda: classifier.predict(face), repeats)))
