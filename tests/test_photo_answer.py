"""One photo answer, one coordinate system each part says: the API's boxes in the photo's
own pixels with the annotated image's size and scale beside them, and the UI's boxes table
in the pixels of the picture it sits beside (serving/photo.py, in process)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES, ROOT
from emotion_recognition.serving import photo

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from emotion_recognition.serving.server import Server
    from emotion_recognition.serving.store import FileStore

    return Server.open(ROOT / "model", FileStore(tmp_path_factory.mktemp("store")))


def _upload(server, name: str, image: Image.Image) -> str:
    path = server.files.root / name
    image.save(path, quality=90)
    return str(path)


def _shown_boxes(view) -> list[list[int]]:
    return view.boxes[["x", "y", "width", "height"]].to_numpy().tolist()


def test_a_photo_analysed_at_half_size(server):
    """16 MP, over the 12.6 MP working size: drawn at 3423x1200, scale 2."""
    large = Image.open(EXAMPLES / "three_faces.jpg").resize((6846, 2400))
    annotated, faces, size, key = photo.analyze(server, _upload(server, "large.jpg", large))
    assert size == {"width": 3423, "height": 1200, "scale": 2.0}
    assert Image.open(annotated).size == (3423, 1200)
    assert max(f["box"][0] + f["box"][2] for f in faces) > 3423  # the photo's own pixels
    view = photo.view(server, key)
    assert _shown_boxes(view) == [[v / 2 for v in f["box"]] for f in faces]


def test_a_photo_wider_than_a_browser_takes(server):
    """12000x800 (9.6 MP) is analysed whole but sent 8192 pixels wide: scale 12000/8192."""
    canvas = np.full((800, 12000, 3), 100, np.uint8)
    canvas[:, 5000:7282] = np.asarray(Image.open(EXAMPLES / "three_faces.jpg").resize((2282, 800)))
    annotated, faces, size, key = photo.analyze(
        server, _upload(server, "wide.jpg", Image.fromarray(canvas)))
    assert (size["width"], size["height"]) == Image.open(annotated).size == (8192, 546)
    assert size["scale"] == pytest.approx(12000 / 8192, abs=1e-6)
    assert len(faces) == 3 and min(f["box"][0] for f in faces) >= 5000
    shown = _shown_boxes(photo.view(server, key))
    assert np.allclose(shown, [np.divide(f["box"], size["scale"]) for f in faces], atol=1)
    assert shown != [f["box"] for f in faces]


def test_a_photo_at_its_own_size(server):
    annotated, faces, size, key = photo.analyze(
        server, _upload(server, "small.jpg", Image.open(EXAMPLES / "three_faces.jpg")))
    assert size == {"width": 1141, "height": 400, "scale": 1.0}
    assert _shown_boxes(photo.view(server, key)) == [f["box"] for f in faces]
