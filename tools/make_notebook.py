"""Write train.ipynb from the cells below (keeps the notebook's source reviewable as Python)."""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

cells = [
    new_markdown_cell("""# Train the FER2013 emotion models

Colab-ready (Runtime → Change runtime type → GPU). The notebook trains through the project's
own modules, so it does exactly what the command lines do (`training.recipe`,
`training.calibrate`, `training.evaluate`; `scripts/gpu_train.sh` runs the same recipe on
any GPU machine, in jobs of a time budget you choose):

1. install the requirements and get FER2013 (Kaggle download, an upload, or a local path);
2. look at the class frequencies;
3. the recipe: the served network (width 64) trained long from one or two seeds
   (**teachers**), then distilled into one **student** of the same width from their averaged
   softened outputs, all trained on **Training**, epochs chosen on **PublicTest**;
4. choose the test-time views on PublicTest, export the served models, and fit the
   calibration temperature on PublicTest;
5. evaluate **PrivateTest** once: accuracy, macro-F1, calibration error, FER+ agreement,
   confusion matrices and reliability diagrams;
6. copy the served models into `model/` and push them to the Hugging Face Hub."""),
    new_code_cell("""# Parameters (papermill can override them; the tests run the tiny recipe).
DATA = "fer2013.zip"            # Kaggle zip or folder, fer2013.csv, or a training pack (.npz)
KAGGLE_DATASET = "msambare/fer2013"
REPO_URL = ""                   # this project's git URL: cloned when run outside it (Colab)
INSTALL = True                  # pip install requirements-train.txt
RECIPE = "gpu"                  # gpu: 1-2 seeds + student, all width 64; tiny: tests
TIME_BUDGET = 3600.0            # seconds per call of the recipe (it resumes where it stopped)
TTA_CHOICES = ["flip", "flip_zoom"]  # test-time views to compare on PublicTest
OUT = "runs/notebook"
MODEL_DIR = "model"             # where the served files are copied for the app and the push
HUB_REPO_ID = ""                # e.g. "your-name/fer2013-emotions"; empty: no push""",
                  metadata={"tags": ["parameters"]}),
    new_markdown_cell("## Set up: the project's code and requirements"),
    new_code_cell("""import os, subprocess, sys
if REPO_URL and not os.path.isdir("emotion_recognition"):
    subprocess.run(["git", "clone", "--depth", "1", REPO_URL, "project"], check=True)
    os.chdir("project")
if INSTALL:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", "requirements-train.txt"],
                   check=True)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")   # "jax" on a JAX GPU machine
sys.path.insert(0, os.getcwd())
import keras
print("Keras", keras.__version__, "on", keras.backend.backend())"""),
    new_markdown_cell("""## Get FER2013
Uses `DATA` if it exists; otherwise downloads the Kaggle image layout (needs
`~/.kaggle/kaggle.json` or `KAGGLE_USERNAME`/`KAGGLE_KEY`), or asks for an upload in Colab."""),
    new_code_cell("""from pathlib import Path

def fetch_fer2013(target: str) -> str:
    if Path(target).exists():
        return target
    try:
        subprocess.run(["kaggle", "datasets", "download", "-d", KAGGLE_DATASET, "-o"], check=True)
        return KAGGLE_DATASET.split("/")[-1] + ".zip"
    except (OSError, subprocess.CalledProcessError):
        from google.colab import files  # only in Colab
        return next(iter(files.upload()))

DATA = fetch_fer2013(DATA)
from emotion_recognition.training.data import load_fer2013
splits = load_fer2013(DATA)
{name: len(split) for name, split in splits.items()}"""),
    new_markdown_cell("## Class frequencies\nDisgust has about 16 times fewer training images than happy: "
                      "the loss is weighted by 1/sqrt(frequency) against that."),
    new_code_cell("""from IPython.display import Image, display
from emotion_recognition.training.plots import plot_class_frequencies, plot_training_curves
Path(OUT).mkdir(parents=True, exist_ok=True)
display(Image(str(plot_class_frequencies(
    {name: split.class_counts() for name, split in splits.items()}, f"{OUT}/class_frequencies.png"))))"""),
    new_markdown_cell("""## Train: the seeds, then the student distilled from them
Each step is a resumable run (`train --resume`); the loop calls the recipe until every step
has finished, so a disconnected Colab session simply runs this cell again."""),
    new_code_cell("""from emotion_recognition.training.recipe import run_recipe
status = run_recipe(DATA, OUT, TIME_BUDGET, RECIPE, min_step_seconds=1)
while not status["finished"]:
    status = run_recipe(DATA, OUT, TIME_BUDGET, RECIPE, min_step_seconds=1)
status["steps"]"""),
    new_markdown_cell("## The student's training curves"),
    new_code_cell("""STUDENT = Path(OUT) / status["served_from"]["emotion7"]  # e.g. student1: one teacher
display(Image(str(plot_training_curves(STUDENT / "history.csv", f"{OUT}/training_curves.png"))))"""),
    new_markdown_cell("## Choose the test-time views on PublicTest, export, calibrate\n"
                      "Each choice is built exactly as served; the best PublicTest accuracy wins. "
                      "The calibration temperature is fitted on PublicTest too. Last, the "
                      "network is exported to the int8 LiteRT file the app serves (its int8 "
                      "ranges set on Training faces)."),
    new_code_cell("""import json
from emotion_recognition.training.calibrate import calibrate_model_dir
from emotion_recognition.training.export import network_from_run, save_served_models
from emotion_recognition.training.selection import public_test_scores
network, classes = network_from_run(STUDENT)
tta_scores = {tta: public_test_scores([network], tta, splits["PublicTest"]) for tta in TTA_CHOICES}
TTA = max(tta_scores, key=lambda tta: tta_scores[tta]["accuracy7"])
save_served_models(network, OUT, TTA, classes)
(Path(OUT) / "labels.json").write_text((STUDENT / "labels.json").read_text())
calibration = calibrate_model_dir(Path(OUT), splits["PublicTest"])
(Path(OUT) / "calibration.json").write_text(json.dumps(calibration, indent=2))
from emotion_recognition.training.export_litert import export_litert
litert_spec = export_litert(Path(OUT), DATA)  # the served int8 file(s) and litert.json
print("chosen:", TTA)
tta_scores, calibration"""),
    new_markdown_cell("## Evaluate once on PrivateTest (and PublicTest)"),
    new_code_cell("""from emotion_recognition.core.labels import FOUR, SEVEN
from emotion_recognition.training.evaluate import (evaluate_all, plot_confusion, plot_reliability,
                                                   print_report)
results = evaluate_all(splits, Path(OUT), None, DATA)
print_report(results)
for key, labels in (("ours-7", SEVEN.labels), ("ours-4", FOUR.labels)):
    path = f"{OUT}/confusion_{key.replace('ours-', 'emotion')}_privatetest.png"
    plot_confusion(results["PrivateTest"][key], labels, f"{key} on FER2013 PrivateTest", path)
    display(Image(path))
plot_reliability(results, Path(OUT) / "reliability_privatetest.png")
display(Image(f"{OUT}/reliability_privatetest.png"))"""),
    new_markdown_cell("""## Publish
Copies the served models, labels, calibration and plots into `MODEL_DIR` (the app's bundled
model) and, if `HUB_REPO_ID` is set, pushes that folder to the Hub with the token in
`HF_TOKEN`. Update the figures in `MODEL_DIR/README.md` (the model card) before pushing."""),
    new_code_cell("""import shutil
Path(MODEL_DIR).mkdir(parents=True, exist_ok=True)
for name in ("emotion7.keras", "emotion4.keras", "labels.json", "calibration.json",
             "class_frequencies.png", "training_curves.png", "confusion_emotion7_privatetest.png",
             "confusion_emotion4_privatetest.png", "reliability_privatetest.png"):
    shutil.copy(Path(OUT) / name, Path(MODEL_DIR) / name)
for old in Path(MODEL_DIR).glob("*.tflite"):  # the served int8 network(s): this run's only
    old.unlink()
for name in {e["network"] for e in litert_spec["emotion_sets"].values()} | {"litert.json"}:
    shutil.copy(Path(OUT) / name, Path(MODEL_DIR) / name)
print(sorted(p.name for p in Path(MODEL_DIR).iterdir()))
if HUB_REPO_ID:
    from emotion_recognition.models.hub import upload_model_dir
    print(upload_model_dir(MODEL_DIR, HUB_REPO_ID))"""),
]
notebook = new_notebook(cells=cells, metadata={
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"}, "accelerator": "GPU", "colab": {"provenance": []}})
nbformat.write(notebook, "train.ipynb")
print("wrote train.ipynb")
