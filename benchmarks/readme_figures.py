"""The figures quoted in README.md, docs/*.md and model/README.md, rendered from the JSON.

Every benchmark writes its JSON under benchmarks/figures/ (committed); the model's own
commands write theirs into model/ (evaluation.json, calibration.json,
selection_publictest.json). The documents hold
each rendered block between ``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->``;
tests/test_figures.py checks they match, and

    python -m benchmarks.readme_figures

rewrites the blocks after a benchmark run, so no figure is ever typed by hand.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "benchmarks" / "figures"
DOCUMENTS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "model" / "README.md")
BLOCK = re.compile(r"(<!-- figures:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)",
                   re.S)


def load(name: str) -> dict | list:
    return json.loads((FIGURES / f"{name}.json").read_text())


def speed() -> str:
    """Ours beside the peer pipeline (the targets' reference) and, when measured, the fer
    package as released (benchmarks.speed --fer)."""
    f = load("speed")
    fer = f.get("fer_package", {})

    def theirs(figures: dict, key: str, ours: str) -> list[str]:
        if key not in figures:
            return ["–", "–"]
        ratio = figures[key] / f[ours]
        faster = f"{ratio:.1f}x" if ratio >= 1 else f"{1 / ratio:.1f}x slower"
        return [f"{figures[key]:.1f} ms", faster]

    def timed(label: str, ours: str, peer: str, fer_key: str, target: str) -> tuple:
        return (label, f"**{f[ours]:.1f} ms**", *theirs(f, peer, ours),
                *theirs(fer, fer_key, ours), target)

    rows = [timed("one face classified (4 views, int8 LiteRT), single call (p50)",
                  "ours_single_face_ms", "peer_single_face_ms", "single_face_ms",
                  "<= 3 ms; >= 8x the peer pipeline"),
            timed("640x480 JPEG with one face, end to end (p50)", "ours_photo_640x480_ms",
                  "peer_photo_640x480_ms", "photo_640x480_ms",
                  "<= 40 ms; >= 2.5x the peer pipeline"),
            ("live webcam frames processed (640x480, one face)",
             f"**{f['live_fps_640x480']:.0f} fps**", "–", "–", "–", "–", ">= 15 fps"),
            (f"realistic 640x480 30 fps video ({f['video']['clip_seconds']:.0f} s) analysed at "
             f"{f['video']['sample_fps']:g} fps, annotated video included",
             f"**{f['video_realtime_factor']:.1f}x real time**", "–", "–", "–", "–", ">= 3x")]
    if "cold_start_s" in f:
        rows.append(("cold start of `python app.py` to its first answer",
                     f"**{f['cold_start_s']:.1f} s**", "–", "–", "–", "–", "<= 4 s"))
    fer_name = f"fer {fer['version']} as released" if fer else "fer as released"
    return (_table(["", "ours", "peer pipeline", "ours faster by", fer_name, "ours faster by",
                    "target"], rows, "|---|---:|---:|---:|---:|---:|---:|") + _machine(f))


def fer_release() -> str:
    """fer as released beside the Keras file it ships, on FER2013 (benchmarks.fer_release)."""
    f = load("fer_release")
    rows = [(name, f"{100 * f[name]['fer_release_accuracy']:.2f} %",
             f"{100 * f[name]['keras_file_accuracy']:.2f} %", f"{100 * f[name]['same_label']:.1f} %")
            for name in ("PublicTest", "PrivateTest")]
    return _table(["FER2013", f"fer {f['fer_version']} as released (quantized TensorFlow Lite)",
                   "the Keras file it ships", "faces given the same label"], rows,
                  "|---|---:|---:|---:|")


def _machine(figures: dict) -> str:
    machine = figures.get("machine")
    if not machine:
        return ""
    load_average = machine["load_average_1min_at_end"]
    shared = ": other jobs shared the machine" if load_average > machine["cpu_cores"] + 0.5 else ""
    return (f"\n(Measured on {machine['cpu_cores']} CPU cores with a 1-minute load average of "
            f"{load_average} at the end of the run{shared}.)\n")


def video_stages() -> str:
    video = load("speed")["video"]
    stages = video["stage_seconds"]
    total = video["seconds"]
    rows = [(name, f"{seconds:.1f} s", f"{1000 * seconds / video['frames_analysed']:.1f} ms")
            for name, seconds in stages.items()]
    rows.append(("**whole job** (decoding overlaps the rest)", f"**{total:.1f} s**",
                 f"**{1000 * total / video['frames_analysed']:.1f} ms**"))
    return _table(["stage", f"seconds ({video['frames_analysed']} frames analysed)",
                   "per analysed frame"], rows, "|---|---:|---:|")


SCENARIOS = {"shared": "one shared photo", "distinct": "a different photo per client"}


def load_test() -> str:
    f = load("load")
    rows = []
    for s in f["scenarios"]:
        memory = s["server_memory_mb"]
        rows.append((SCENARIOS.get(s["scenario"], s["scenario"]),
                     f"{s['clients']} x {s['requests_per_client']}",
                     str(s["requests"]), str(s["errors"]), str(s["wrong_answers"]),
                     f"{s['throughput_rps']:.1f}/s",
                     f"{s['latency_ms']['p50']:.0f} / {s['latency_ms']['p95']:.0f} ms",
                     f"{memory['before']:.0f} → {memory['after']:.0f} MB (peak {memory['peak']:.0f})"))
    table = _table(["photos", "clients x requests", "answered", "errors", "wrong answers",
                    "throughput", "latency p50 / p95", "server memory"], rows,
                   "|---|---:|---:|---:|---:|---:|---:|---:|")
    log = f["server_log"]
    return (table + _machine(f) + f"\nUploads left in the server's folder afterwards: "
            f"{f['uploads_left_in_server_folder']}; server log: {log['tracebacks']} tracebacks, "
            f"{log['user_error_lines']} one-line user errors.\n")


def memory() -> str:
    f = load("memory")
    photo, mb = f["photo"], f["server_memory_mb"]
    idle = (f"A freshly started server answered its first photo {f['cold_start_s']:.1f} s after "
            f"`python app.py` (target <= 4 s) and then held {f['idle_server_mb']:.0f} MB idle "
            f"(target <= 400 MB), with TensorFlow "
            f"{'loaded' if f['tensorflow_loaded_in_server'] else 'never loaded'}. "
            if "idle_server_mb" in f else "")
    return (idle + f"The largest photo accepted ({photo['width']}x{photo['height']}, "
            f"{photo['megapixels']} megapixels, a {photo['jpeg_mb']} MB JPEG) took the server from "
            f"{mb['before']:.0f} MB to a peak of {mb['peak']:.0f} MB (+{mb['peak_increase']:.0f} MB)"
            f" and left it at {mb['after']:.0f} MB"
            + "".join(f" ({v:.0f} MB {k[6:-2]} s later)" for k, v in mb.items()
                      if k.startswith("after_"))
            + ".\n")


def experiments() -> str:
    f = load("experiments")
    rows = [(r["network"], r["class_weighting"], f"{r['parameters_m']:.2f} M",
             f"{100 * r['public_accuracy']:.1f} %", f"{r['public_macro_f1']:.3f}",
             f"{r['disgust_recall']:.2f}", f"{r['file_mb']:.1f}", f"{r['ms_per_face']:.1f}",
             f"{r['seconds_per_epoch']:.0f}") for r in f["rows"]]
    return _table(["network", "class weights", "params", "PublicTest acc", "macro-F1",
                   "disgust recall", "file MB", "CPU ms/face", "s/epoch"], rows,
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|")


def ingredients() -> str:
    """Each recipe ingredient against the same control on a short run (PublicTest)."""
    f = load("ingredients")
    control = next(r for r in f["rows"] if r["ingredient"] == "control")
    rows = [(r["ingredient"], r["what"], f"{100 * r['public_accuracy7']:.2f} %",
             f"{100 * (r['public_accuracy7'] - control['public_accuracy7']):+.2f}",
             f"{r['public_macro_f1_7']:.3f}", f"{100 * r['public_accuracy4']:.2f} %",
             str(r["best_epoch"])) for r in f["rows"]]
    return (_table(["run", "what changes", "PublicTest acc, 7", "vs control (points)",
                    "macro-F1, 7", "PublicTest acc, 4", "best epoch"], rows,
                   "|---|---|---:|---:|---:|---:|---:|")
            + f"\nVGG width {f['width']}, {f['epochs']} epochs, seed {f['seed']}, flip_zoom views; "
              f"`{f['command']}`.\n")


def batch() -> str:
    f = load("batch")
    cli, ray, plan, split = f["cli"], f["batch"], f["plan_1m_photos_per_hour"], f["work_split_one_thread"]
    rows = [("wall time, start-up included", f"{cli['wall_s']:.0f} s", f"{ray['wall_s']:.0f} s"),
            ("photos per second, end to end", f"{cli['images_per_s_end_to_end']:.1f}",
             f"{ray['images_per_s_end_to_end']:.1f}"),
            ("photos per second after start-up", f"{cli['images_per_s_steady']:.1f}",
             f"{ray['images_per_s_steady']:.1f}"),
            ("start-up (the same command on one photo)", f"{cli['wall_s_one_image']:.0f} s",
             f"{ray['wall_s_one_image']:.0f} s")]
    table = _table([f"{cli['images']:,} photos, {f['machine']['cpus']} CPU cores", "plain CLI",
                    "batch (local Ray)"], rows, "|---|---:|---:|")
    machine = f["machine"]
    busy = max(machine["load_average_before"], machine["load_average_after"]) > machine["cpus"]
    return (table + f"\nSame labels for {100 * f['labels_identical_share']:.1f} % of the faces; "
            f"load average {machine['load_average_before']:.1f} before and "
            f"{machine['load_average_after']:.1f} after"
            f"{' (other work was running: noisy figures)' if busy else ''}.\n\n"
            f"**1 million photos in an hour** is {plan['target_images_per_s']:.0f} photos/s. The "
            f"whole pipeline ran at {plan['measured_images_per_s_per_cpu']:.1f} photos/s per CPU "
            f"here; with {100 * (plan['headroom'] - 1):.0f} % headroom that is "
            f"**{plan['cpus_needed']} CPUs: {plan['nodes_needed']} nodes of {plan['node_cpus']} "
            f"CPUs** ({plan['per_node_images_per_s']:.0f} photos/s per node). Classifying is "
            f"{100 * plan['classification_share_of_cpu']:.0f} % of the work "
            f"({split['classify_ms_per_face']:.1f} ms per face against "
            f"{split['detect_ms_per_photo']:.1f} ms to read and detect a photo, one thread each), "
            f"so about {plan['classifier_actors_needed']} of those CPUs run classifier actors.\n")


MODEL = ROOT / "model"


def _model_json(name: str) -> dict | list:
    """A figure file the model's own commands write into model/ (evaluate, calibrate,
    selection), beside the models they describe."""
    return json.loads((MODEL / f"{name}.json").read_text())


def _percent(value) -> str:
    return "–" if value is None else f"{100 * value:.2f} %"


def accuracy() -> str:
    """Ours against the peer on FER2013 (evaluate --json model/evaluation.json)."""
    f = _model_json("evaluation")
    private, public = f["PrivateTest"], f["PublicTest"]
    names = [n for n in ("ours-7", "peer-7", "ours-4", "peer-4") if n in private]
    bold = lambda n, text: f"**{text}**" if n.startswith("ours") else text  # noqa: E731
    rows = [("PrivateTest accuracy", *[bold(n, _percent(private[n]["accuracy"])) for n in names]),
            ("PrivateTest macro-F1", *[bold(n, f"{private[n]['macro_f1']:.3f}") for n in names]),
            ("PrivateTest calibration error (ECE, 15 bins), as served",
             *[bold(n, _percent(private[n]["ece"])) for n in names]),
            ("ECE without a temperature (ours before calibrate; the peer as shipped)",
             *[_percent(private[n].get("ece_before_temperature", private[n]["ece"]))
               for n in names]),
            ("ECE with a temperature fitted on PublicTest (ours as served)",
             *[_percent(private[n]["ece"] if n.startswith("ours")
                        else private[n].get("ece_after_temperature")) for n in names]),
            ("PrivateTest accuracy against the FER+ majority vote",
             *[bold(n, _percent(private[n].get("ferplus_accuracy"))) for n in names]),
            ("images with a FER+ majority in the set",
             *[str(private[n].get("ferplus_images", "–")) for n in names]),
            ("PublicTest accuracy (the selection split)",
             *[_percent(public[n]["accuracy"]) for n in names])]
    header = ["FER2013", *[n.replace("-", " ") for n in names]]
    return _table(header, rows, "|---|" + "---:|" * len(names))


def litert() -> str:
    """The served int8 LiteRT network against its reference .keras files, on every FER2013
    test face (evaluate --json model/evaluation.json)."""
    f = _model_json("evaluation")
    rows = []
    for split in ("PublicTest", "PrivateTest"):
        for tag in ("7", "4"):
            served, reference = f[split].get(f"ours-{tag}"), f[split].get(f"keras-{tag}")
            if served is None or reference is None:
                continue
            agreement = served["agreement_with_keras"]
            rows.append((split, tag, f"**{_percent(served['accuracy'])}**",
                         _percent(reference["accuracy"]),
                         f"{agreement['accuracy_points']:+.2f}",
                         f"{100 * agreement['same_label']:.1f} %",
                         f"{agreement['largest_probability_difference']:.3f}"))
    return _table(["FER2013", "emotions", "served: LiteRT int8", "reference: .keras",
                   "difference (points)", "same label", "largest probability difference"],
                  rows, "|---|---:|---:|---:|---:|---:|---:|")


def calibration() -> str:
    """The temperatures folded into the served models (calibrate -> model/calibration.json)."""
    f = _model_json("calibration")
    rows = [(name, f"{r['temperature']:.3f}", _percent(r["public_test_ece_before"]),
             _percent(r["public_test_ece_after"])) for name, r in f.items()]
    return _table(["served model", "temperature", "PublicTest ECE before", "after"], rows,
                  "|---|---:|---:|---:|")


def selection() -> str:
    """Every candidate scored on PublicTest as served (selection -> model/selection_publictest.json)."""
    rows = [(r["candidate"], r["tta"], _percent(r["accuracy7"]), _percent(r["accuracy4"]))
            for r in _model_json("selection_publictest")]
    return _table(["candidate", "test-time views", "PublicTest acc, 7", "PublicTest acc, 4"],
                  rows, "|---|---|---:|---:|")


def rotation() -> str:
    """Faces turned by -30..30 degrees in photo-like canvases (benchmarks.rotation)."""
    f = load("rotation")
    angles = list(next(iter(f["strategies"].values())))
    rows = []
    for name, by_angle in f["strategies"].items():
        rows.append((name, *[f"{100 * by_angle[a]['found']:.0f} / {100 * by_angle[a]['accuracy']:.0f}"
                             for a in angles],
                     f"{sum(by_angle[a]['ms_per_photo'] for a in angles) / len(angles):.0f}"))
    return (_table(["strategy", *[f"{a}°" for a in angles], "ms/photo"], rows,
                   "|---|" + "---:|" * (len(angles) + 1))
            + f"\nEach cell: % of faces found / % of all faces labelled right (a missed face "
              f"is wrong); {f['images_per_angle']} PublicTest faces per angle, "
              f"{f['face_side']} px in a {f['canvas'][0]}x{f['canvas'][1]} canvas.\n")


DETECTOR_LABELS = {"haar": "**haar** (the default: Haar, checked by BlazeFace)",
                   "blazeface": "blazeface", "combined": "combined",
                   "haar_unverified": "Haar alone (served before BlazeFace)",
                   "peer": "peer (full-size Haar, 1.1 / 5 / 30)"}


def _load_note(figures: dict) -> str:
    load_average = figures.get("load_average_1min")
    if not load_average:
        return ""
    busy = max(load_average.values()) > figures.get("cpu_cores", 2)
    return (f"; 1-minute load average {load_average['before']:.1f} before and "
            f"{load_average['end']:.1f} at the end" + (" (other jobs shared the machine: "
                                                       "noisy times)" if busy else ""))


def detection_recall() -> str:
    """Recall by face size in 12 MP photos, per detector and the peer's."""
    f = load("detection_recall")
    detectors = f["detectors"]
    sizes = list(next(iter(detectors.values()))["recall_by_size"])
    rows = [(DETECTOR_LABELS.get(key, key),
             *[f"{100 * d['recall_by_size'][size]:.0f} %" for size in sizes],
             f"{d['false_positives_per_image']:.2f}", f"{d['misframed_per_image']:.2f}",
             f"{d['ms_per_image_p50'] / 1000:.1f} s")
            for key, d in detectors.items()]
    count = next(iter(f["faces_per_size"].values()))
    return (_table(["face width (px)", *sizes, "false boxes / photo", "mis-framed / photo",
                    "time / photo (p50)"], rows, "|---|" + "---:|" * (len(sizes) + 3))
            + f"\n{count} faces per size in {f['images']} {f['canvas']} photos "
              f"({f['face_sources']}); {f['cpu_cores']} CPU cores{_load_note(f)}.\n")


def false_faces() -> str:
    """False faces on the face-free set and phantoms on the shifted astronaut, per detector."""
    f = load("detection_recall")
    free, shifted = f["face_free"], f["shifted_astronaut"]
    rows = []
    for key, d in free["detectors"].items():
        astronaut = shifted["detectors"][key]
        rows.append((DETECTOR_LABELS.get(key, key), f"{d['false_boxes_per_photo']:.2f}",
                     f"{d['photos_with_false_boxes']} of {free['photos']}",
                     f"{d['ms_per_photo_p50'] / 1000:.1f} s", str(astronaut["phantom_boxes"]),
                     str(astronaut["missed_faces"])))
    return (_table(["detector", "false boxes / face-free 12 MP photo", "photos with a false box",
                    "time / photo (p50)", f"phantoms on {shifted['copies']} shifted astronauts",
                    "her face missed"], rows, "|---|---:|---:|---:|---:|---:|")
            + f"\n{free['photos']} face-free photos: {', '.join(free['names'])}.\n")


def detector_frames() -> str:
    """Each detector's cost per 640x480 webcam frame (benchmarks.speed)."""
    f = load("speed")
    frames = f["detector_ms_per_frame"]
    rows = [(DETECTOR_LABELS.get(key, key), f"{d['whole_frame_ms']:.1f} ms",
             f"{d['tracking_guided_ms']:.1f} ms" if "tracking_guided_ms" in d else "–")
            for key, d in frames.items()]
    return (_table(["detector", "whole 640x480 frame (p50)",
                    "per frame, tracking-guided as in live and video (mean)"], rows,
                   "|---|---:|---:|") + _machine(f))


def explanation() -> str:
    """How much hiding the heat map's hottest region lowers the chosen emotion's probability."""
    f = load("explanation_faithfulness")
    rows = [(how, f"{100 * d['mean_drop_hottest']:.1f} points", f"{100 * d['mean_drop_random']:.1f} points",
             f"{100 * d['share_of_faces_hottest_drops_more']:.0f} %")
            for how, d in ((k[len("hidden_with_"):], v) for k, v in f.items() if k.startswith("hidden_with_"))]
    return (_table(["region hidden with", "drop: hottest region", "drop: random region",
                    "faces where the hottest drops more"], rows, "|---|---:|---:|---:|")
            + f"\n{f['faces']} {f['split']} faces, a {f['region']} region; a heat map takes "
              f"{f['ms_per_face_p50']:.0f} ms per face (p50, {f['cpu_cores']} CPU cores).\n")


def live_browser() -> str:
    """Annotated live-webcam frames per second shown in Chromium (benchmarks.live_browser)."""
    f = load("live_browser")
    load_avg = f["load_average_1min"]
    busy = max(load_avg.values()) > f["cpu_cores"]
    return (f"**{f['fps_shown']:.1f} annotated frames per second shown** (target >= 15; "
            f"{f['fps_analysed_by_server']:.1f} analysed by the server) over {f['seconds']:.0f} s "
            f"of a fake 640x480 camera with one face. The page's main thread was busy "
            f"{100 * f['page_main_thread_busy_share']:.0f} % of the time and the server used "
            f"{f['server_cpu_cores_used']:.2f} of the {f['cpu_cores']} CPU cores; 1-minute load "
            f"average {load_avg['before']:.1f} before and {load_avg['end']:.1f} at the end"
            f"{' (other jobs shared the machine)' if busy else ''}.{_empty_room(f)}\n")


def _empty_room(f: dict) -> str:
    """The same camera showing a real room with nobody in it (--room), where measured."""
    room = f.get("empty_room")
    if not room:
        return ""
    return (f" With nobody in view (a real room, searched whole every frame): "
            f"**{room['fps_shown']:.1f} frames per second shown** (target >= 15).")


def headline() -> str:
    """The README's few figures, ours beside the peer: accuracy, calibration, a photo's time,
    false faces, live and video speed (every one is detailed in docs/benchmarks.md)."""
    evaluation, speed_figures = _model_json("evaluation")["PrivateTest"], load("speed")
    fer, released = speed_figures.get("fer_package", {}), load("fer_release")
    free, video = load("detection_recall")["face_free"], speed_figures["video"]
    false_faces = free["detectors"]

    def accuracy_row(label: str, key: str, figure: str, released_figure: str) -> tuple:
        return (label, f"**{_percent(evaluation[f'ours-{key}'][figure])}**",
                _percent(evaluation[f"peer-{key}"][figure]), released_figure)

    rows = [accuracy_row("FER2013 PrivateTest accuracy, 7 emotions", "7", "accuracy",
                         _percent(released["PrivateTest"]["fer_release_accuracy"])),
            accuracy_row("FER2013 PrivateTest accuracy, 4 emotions", "4", "accuracy", "–"),
            accuracy_row("calibration error (ECE), 7 emotions, as served", "7", "ece", "–"),
            ("a 640x480 photo with one face, end to end (p50)",
             f"**{speed_figures['ours_photo_640x480_ms']:.1f} ms**",
             f"{speed_figures['peer_photo_640x480_ms']:.1f} ms",
             f"{fer['photo_640x480_ms']:.1f} ms" if "photo_640x480_ms" in fer else "–"),
            (f"face-free 12 MP photos given a false face (of {free['photos']})",
             f"**{false_faces['haar']['photos_with_false_boxes']}**",
             str(false_faces["peer"]["photos_with_false_boxes"]), "–"),
            ("live webcam in Chromium, annotated frames shown",
             f"**{load('live_browser')['fps_shown']:.1f} fps**", "–", "–"),
            (f"a {video['clip_seconds']:.0f} s 640x480 video analysed at {video['sample_fps']:g} fps",
             f"**{speed_figures['video_realtime_factor']:.1f}x real time**", "–", "–")]
    release = f"fer {fer['version']} as released" if fer else "fer as released"
    cores = speed_figures.get("machine", {}).get("cpu_cores")
    return (_table(["", "ours", "peer (fer's Haar + mini-XCEPTION)", release], rows,
                   "|---|---:|---:|---:|")
            + (f"\nTimes on {cores} CPU cores, no GPU.\n" if cores else ""))


RENDERERS = {"headline": headline, "detection-recall": detection_recall, "false-faces": false_faces,
             "detector-frames": detector_frames,
             "explanation": explanation, "speed": speed, "video-stages": video_stages,
             "load": load_test, "memory": memory,
             "experiments": experiments, "ingredients": ingredients, "batch": batch,
             "accuracy": accuracy, "litert": litert,
             "calibration": calibration, "selection": selection, "rotation": rotation,
             "live-browser": live_browser, "fer-release": fer_release}


def _table(header: list[str], rows: list[tuple], rule: str) -> str:
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def blocks(text: str) -> dict[str, str]:
    """{name: body} of every figures block in a document."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(text)}


def rewrite(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + RENDERERS[m["name"]]() + m.group(4), text)


def main() -> None:
    for document in DOCUMENTS:
        text = document.read_text()
        updated = rewrite(text)
        if updated != text:
            document.write_text(updated)
            print(f"updated {document.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
