"""The app's API through gradio_client, against python app.py on localhost."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES
from emotion_recognition.core.annotate import EMOTION_COLOURS

pytestmark = pytest.mark.app


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _analyze(client, path, emotion_set="emotion7"):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), emotion_set, api_name="/analyze")


def test_api_returns_the_annotated_image_and_faces(client):
    annotated, faces, size = _analyze(client, EXAMPLES / "three_faces.jpg")
    assert Image.open(annotated).size == Image.open(EXAMPLES / "three_faces.jpg").size
    assert size == {"width": 1141, "height": 400, "scale": 1.0}  # drawn at the photo's size
    assert len(faces) == 3
    for number, face in enumerate(faces, 1):
        assert set(face) == {"face", "box", "label", "confidence", "probabilities"}
        assert face["face"] == number and len(face["box"]) == 4 and len(face["probabilities"]) == 7
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)


def test_api_four_emotions_and_no_face(client):
    _, faces, _ = _analyze(client, EXAMPLES / "grace_hopper.jpg", "emotion4")
    assert len(faces) == 1 and set(faces[0]["probabilities"]) == {"angry", "happy", "sad", "neutral"}
    _, none, _ = _analyze(client, EXAMPLES / "coffee_no_face.jpg")
    assert none == []


def test_a_photo_over_the_working_size_answers_in_one_coordinate_system(client, tmp_path):
    """A 16 MP photo is analysed and drawn at half its size: the answer says so (scale 2),
    its boxes are in the photo's own pixels (six times the 1141x400 original's), and
    divided by the scale they lie on the boxes drawn in the annotated image."""
    path = tmp_path / "large.jpg"
    Image.open(EXAMPLES / "three_faces.jpg").resize((6846, 2400)).save(path, quality=90)
    annotated, faces, size = _analyze(client, path)
    assert Image.open(annotated).size == (size["width"], size["height"]) == (3423, 1200)
    assert size["scale"] == 2.0
    _, small, _ = _analyze(client, EXAMPLES / "three_faces.jpg")
    assert [f["label"] for f in faces] == [f["label"] for f in small] == ["happy", "neutral", "happy"]
    for large, original in zip(faces, small):
        width = original["box"][2]
        assert np.allclose(large["box"], np.multiply(original["box"], 6), atol=0.15 * 6 * width)
    pixels = np.asarray(Image.open(annotated).convert("RGB"), dtype=int)
    happy = np.array(EMOTION_COLOURS["happy"])
    for face in (faces[0], faces[2]):
        x, y, w, h = (v / size["scale"] for v in face["box"])
        for column, row in [(x, y + h / 2), (x + w, y + h / 2), (x + w / 2, y + h)]:  # 3 sides
            assert abs(pixels[round(row), round(column)] - happy).max() < 60, (face, column, row)


def _save(tmp_path, name, image: Image.Image, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


def _bad_inputs(tmp_path):
    astronaut = Image.open(EXAMPLES / "astronaut.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("I am a text file, not a photo")
    data = (EXAMPLES / "astronaut.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    rotated = astronaut.rotate(90, expand=True)  # shown upright only if EXIF is honoured
    exif = rotated.getexif()
    exif[0x0112] = 6
    frames = [astronaut, astronaut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    sixteen = Image.fromarray((np.asarray(astronaut.convert("L"), np.uint16) * 257))
    return {
        "empty.jpg": ("error", "empty"),
        "text.jpg": ("error", "not an image"),
        "truncated.jpg": ("error", "damaged or truncated"),
        "bomb.png": ("error", "megapixels"),
        "tiny.png": ("faces", 0),
        "sixteen_bit.png": ("faces", 1),
        "rgba.png": ("faces", 1),
        "cmyk.jpg": ("faces", 1),
        "exif_rotated.jpg": ("faces", 1),
        "animated.gif": ("faces", 1),
    }, {
        "bomb.png": lambda p: Image.new("1", (30000, 30000)).save(p),
        "tiny.png": lambda p: Image.new("RGB", (1, 1)).save(p),
        "sixteen_bit.png": lambda p: sixteen.save(p),
        "rgba.png": lambda p: astronaut.convert("RGBA").save(p),
        "cmyk.jpg": lambda p: astronaut.convert("CMYK").save(p),
        "exif_rotated.jpg": lambda p: rotated.save(p, exif=exif),
        "animated.gif": lambda p: frames[0].save(p, save_all=True, append_images=frames[1:]),
    }


def test_bad_input_gets_a_clear_message_or_a_right_answer_and_the_server_goes_on(client, tmp_path):
    from gradio_client.exceptions import AppError

    expectations, writers = _bad_inputs(tmp_path)
    for name, write in writers.items():
        write(tmp_path / name)
    for name, (kind, expected) in expectations.items():
        if kind == "error":
            with pytest.raises(AppError, match=expected):
                _analyze(client, tmp_path / name)
        else:
            _, faces, _ = _analyze(client, tmp_path / name)
            assert len(faces) == expected, name
    _, faces, _ = _analyze(client, EXAMPLES / "astronaut.jpg")  # still serving
    assert len(faces) == 1


def test_uploads_are_deleted_after_the_request(client, tmp_path):
    from emotion_recognition.serving.store import default_base

    marker = tmp_path / "privacy_marker_photo.jpg"
    marker.write_bytes((EXAMPLES / "astronaut.jpg").read_bytes())
    _analyze(client, marker)
    assert not list(default_base().rglob("privacy_marker_photo.jpg"))


def test_only_the_documented_endpoints_are_public(client):
    """The README documents two endpoints, with these inputs; every other event is private."""
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/analyze", "/analyze_video"}
    assert api["unnamed_endpoints"] == {}
    inputs = {name: [p["parameter_name"] for p in endpoint["parameters"]]
              for name, endpoint in api["named_endpoints"].items()}
    assert inputs == {"/analyze": ["image", "emotion_set", "explain", "detector"],
                      "/analyze_video": ["video", "emotion_set", "sample_fps", "detector"]}


def test_the_detector_is_an_api_parameter_with_a_default(client):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("/analyze", "/analyze_video"):
        (detector,) = [p for p in endpoints[name]["parameters"]
                       if p["parameter_name"] == "detector"]
        assert detector["parameter_has_default"] and detector["parameter_default"] == "haar"
    photo = handle_file(str(EXAMPLES / "three_faces.jpg"))
    for name in ("blazeface", "combined"):
        _, faces, _ = client.predict(photo, "emotion7", False, name, api_name="/analyze")
        assert len(faces) == 3
    with pytest.raises(AppError, match="yolo"):
        client.predict(photo, "emotion7", False, "yolo", api_name="/analyze")
    assert len(_analyze(client, EXAMPLES / "three_faces.jpg")[1]) == 3  # the server goes on


def test_video_endpoint_returns_video_csv_and_summary(client, tmp_path):
    import csv

    from gradio_client import handle_file

    from conftest import write_video

    clip = write_video(tmp_path / "clip.mp4", frames=30, fps=10)
    annotated, csv_path, summary = client.predict(
        handle_file(str(clip)), "emotion7", 5, api_name="/analyze_video")
    video_path = annotated["video"] if isinstance(annotated, dict) else annotated
    assert str(video_path).endswith(".mp4")
    rows = list(csv.DictReader(open(csv_path)))
    assert len(rows) == summary["frames_analysed"] == 15
    assert {r["face"] for r in rows} == {"1"} and summary["faces"] == 1
    assert {r["source"] for r in rows} == {"clip.mp4"}  # the upload's name, not a server path


def test_video_endpoint_refuses_a_broken_file_and_goes_on(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"definitely not a video" * 50)
    with pytest.raises(AppError, match="not a video|no readable video"):
        client.predict(handle_file(str(broken)), "emotion7", 5, api_name="/analyze_video")
    _, faces, _ = _analyze(client, EXAMPLES / "astronaut.jpg")
    assert len(faces) == 1


def test_the_readme_gradio_client_example_runs_as_written(app_url, tmp_path, monkeypatch):
    """README's gradio_client block, with only the address changed to this server's."""
    import shutil

    from conftest import ROOT, write_video

    text = (ROOT / "README.md").read_text()
    start = text.index("```python", text.index("## From Python, against the app"))
    block = text[text.index("\n", start) + 1:text.index("```", start + 3)]
    assert 'Client("http://127.0.0.1:7860/")' in block
    shutil.copy(EXAMPLES / "three_faces.jpg", tmp_path / "photo.jpg")
    write_video(tmp_path / "clip.mp4", frames=20, fps=10)
    monkeypatch.chdir(tmp_path)
    names: dict = {}
    exec(block.replace("http://127.0.0.1:7860/", app_url), names)
    assert len(names["faces"]) == 3 and names["faces"][0]["face"] == 1
    assert Image.open(names["annotated_path"]).size == Image.open(tmp_path / "photo.jpg").size
    assert open(names["csv_path"]).readline().startswith("source,kind,status,face_count,face,")
