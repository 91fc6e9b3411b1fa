"""Box maths with exact numbers, crops, and decoding every kind of image users send
(core/types.py, core/crops.py, core/decode.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import EXAMPLES
from crafted import grey_jpeg, jpeg_declaring, png_declaring
from emotion_recognition.core.crops import (clip_box, crop_padded, face_crops, face_frame,
                                           to_model_input)
from emotion_recognition.core.decode import decode_image
from emotion_recognition.core.errors import ImageDecodeError
from emotion_recognition.core.limits import LIMITS
from emotion_recognition.core.types import Box

pytestmark = pytest.mark.unit


def test_face_frame_is_a_square_grown_around_the_centre():
    assert face_frame(Box(100, 50, 40, 40), scale=1.5, shift_y=0.0) == Box(90, 40, 60, 60)
    assert face_frame(Box(100, 50, 40, 40), scale=1.0, shift_y=0.25) == Box(100, 60, 40, 40)
    assert face_frame(Box(0, 0, 20, 10), scale=1.0, shift_y=0.0) == Box(0, -5, 20, 20)


def test_clip_box_keeps_the_part_inside():
    assert clip_box(Box(-5, -10, 20, 30), 100, 100) == Box(0, 0, 15, 20)
    assert clip_box(Box(90, 95, 20, 20), 100, 100) == Box(90, 95, 10, 5)
    assert clip_box(Box(200, 0, 10, 10), 100, 100).w == 0


def test_crop_padded_repeats_the_border_outside_the_image():
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)
    crop = crop_padded(image, Box(-1, 2, 3, 3))
    assert crop.tolist() == [[8, 8, 9], [12, 12, 13], [12, 12, 13]]
    assert crop_padded(image, Box(1, 1, 2, 2)).tolist() == [[5, 6], [9, 10]]
    with pytest.raises(ValueError):
        crop_padded(image, Box(10, 10, 2, 2))


def test_model_input_shape_and_type():
    faces = [np.full((100, 80), 7, np.uint8), np.zeros((48, 48), np.uint8)]
    batch = to_model_input(faces)
    assert batch.shape == (2, 48, 48, 1) and batch.dtype == np.uint8
    assert (batch[0] == 7).all()
    assert to_model_input([]).shape == (0, 48, 48, 1)
    assert face_crops(np.zeros((200, 200), np.uint8), [Box(50, 50, 60, 60)]).shape == (1, 48, 48, 1)


def test_box_share_inside_and_apart_with_exact_numbers():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    eye = Box(2, 2, 4, 4)
    assert eye.share_inside(a) == 1.0 and a.share_inside(eye) == pytest.approx(16 / 100)
    assert not eye.apart_from(a) and not a.apart_from(eye)  # a part of a face, either way
    assert not a.apart_from(b) and a.apart_from(Box(9, 0, 10, 10))  # IoU 0.3 / 0.05
    assert Box(0, 0, 0, 0).share_inside(a) == 0.0 and Box(0, 0, 0, 0).overlap(Box(0, 0, 0, 0)) == 0


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_decodes_rgb_grey_palette_rgba_cmyk_and_16_bit():
    rgb = Image.new("RGB", (30, 20), (200, 100, 50))
    assert decode_image(_encode(rgb, "PNG"))[0, 0].tolist() == [200, 100, 50]
    assert decode_image(_encode(rgb.convert("L"), "PNG")).shape == (20, 30, 3)
    assert decode_image(_encode(rgb.convert("P"), "GIF")).shape == (20, 30, 3)
    transparent = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert decode_image(_encode(transparent, "PNG"))[0, 0].tolist() == [255, 255, 255]
    cmyk = decode_image(_encode(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG"))
    assert cmyk[5, 5, 0] > 200 and cmyk[5, 5, 1] < 60  # red stays red
    sixteen = Image.fromarray(np.full((8, 8), 65535, np.uint16))
    decoded = decode_image(_encode(sixteen, "PNG"))
    assert decoded.dtype == np.uint8 and decoded.max() == 255


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    assert decode_image(_encode(image, "JPEG", exif=exif)).shape == (40, 20, 3)


def test_first_frame_of_an_animated_gif():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(data)[8, 8].tolist() == [255, 0, 0]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"this is text, not a picture", "not an image"),
])
def test_unreadable_bytes_get_a_clear_message(data, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_truncated_jpeg_gets_a_clear_message():
    data = (EXAMPLES / "astronaut.jpg").read_bytes()
    with pytest.raises(ImageDecodeError, match="damaged or truncated"):
        decode_image(data[: len(data) // 3])


def test_decompression_bomb_is_refused_before_decoding():
    # a 30000x30000 PNG compresses to a few hundred kB; build it without holding it in memory
    bomb = _encode(Image.new("1", (30000, 30000)), "PNG")
    with pytest.raises(ImageDecodeError, match="40 megapixels"):
        decode_image(bomb)


def test_large_image_is_refused_with_its_size():
    big = _encode(Image.new("1", (8000, 6000)), "PNG")
    with pytest.raises(ImageDecodeError, match="8000x6000"):
        decode_image(big)


def test_missing_file_and_arrays(tmp_path):
    with pytest.raises(ImageDecodeError, match="No such image file"):
        decode_image(tmp_path / "gone.jpg")
    assert decode_image(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    assert decode_image(np.ones((5, 6, 3), np.float32))[0, 0].tolist() == [255, 255, 255]
    assert decode_image(Image.new("LA", (3, 3))).shape == (3, 3, 3)
    with pytest.raises(ImageDecodeError):
        decode_image(np.zeros((0, 3), np.uint8))


@pytest.mark.parametrize("data, message", [
    (jpeg_declaring(30000, 30000), "the limit is 40 megapixels"),  # (Pillow's own check)
    (png_declaring(20000, 20000), "the limit is 40 megapixels"),
    (jpeg_declaring(8000, 6000), "8000x6000 pixels; the limit is 40 megapixels"),
    (jpeg_declaring(400, 60000), "the limit is 16,384 pixels a side"),
    (jpeg_declaring(64, 16000), "250 times longer than wide; the limit is 20"),
    (png_declaring(0, 10), "not an image"),
])
def test_a_size_over_a_limit_is_refused_from_the_header_before_any_decode(
        data, message, monkeypatch):
    import emotion_recognition.core.decode as decode

    def no_decoding():
        raise AssertionError("decoded")

    monkeypatch.setattr(decode, "decode_slot", no_decoding)
    assert len(data) < 1000
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_a_webcam_frame_is_a_jpeg_within_1920x1080_checked_before_its_decode(monkeypatch):
    import emotion_recognition.core.decode as decode
    from emotion_recognition.core.decode import decode_frame

    frame = grey_jpeg(640, 480)
    assert decode_frame(frame).shape == (480, 640, 3)
    assert decode_frame(grey_jpeg(1080, 1920)).shape == (1920, 1080, 3)  # a phone held upright
    monkeypatch.setattr(decode, "decode_slot", lambda: pytest.fail("decoded"))
    png = _encode(Image.new("RGB", (64, 48)), "PNG")
    for refused in (jpeg_declaring(30000, 30000), jpeg_declaring(32, 64800),
                    jpeg_declaring(1920, 1200), png, b"", b"x"):
        with pytest.raises(ImageDecodeError, match="JPEG image of at most 1920x1080"):
            decode_frame(refused)


def test_at_most_a_few_images_decode_at_once(monkeypatch):
    import threading
    import time

    import emotion_recognition.core.decode as decode

    running, most = [0], [0]
    lock = threading.Lock()
    original = decode._decoding

    class Counting:
        def __enter__(self):
            original.acquire()
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.05)

        def __exit__(self, *exc):
            with lock:
                running[0] -= 1
            original.release()

    monkeypatch.setattr(decode, "_decoding", Counting())
    photo = (EXAMPLES / "astronaut.jpg").read_bytes()
    threads = [threading.Thread(target=decode_image, args=(photo,)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 < most[0] <= LIMITS.decodes_at_once
