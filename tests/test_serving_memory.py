"""The server hands memory back after a large photo (glibc: fixed mmap threshold, trims)."""

from __future__ import annotations

import pytest

import subprocess
import sys

from conftest import ROOT

pytestmark = pytest.mark.unit

PROBE = """
import numpy as np
from emotion_recognition.serving.process import give_large_blocks_back

def rss_mb():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) / 1024

import sys
if sys.argv[1:] != ["off"]: assert give_large_blocks_back()
base = rss_mb()
first = np.ones(24 << 20, np.uint8); del first          # raised glibc's threshold before the fix
held = [np.ones(8 << 20, np.uint8) for _ in range(40)]  # 320 MB of 8 MB blocks, like a big photo's
small = [bytearray(64) for _ in range(20000)]           # small objects on top of the heap
del held
print(rss_mb() - base)
"""


def test_large_blocks_go_back_to_the_system_when_freed():
    grown = float(subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout)
    assert grown < 64, f"{grown:.0f} MB kept after 320 MB of large blocks were freed"


def test_a_trimmer_thread_runs_beside_the_server():
    from emotion_recognition.serving.process import trim_memory_every

    thread = trim_memory_every(3600)
    assert thread is not None and thread.daemon and thread.is_alive()
