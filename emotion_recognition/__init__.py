"""Facial emotion recognition: faces found by OpenCV's Haar cascades and checked by
BlazeFace, each labelled by a Keras CNN trained on FER2013.

core/ is the flow image -> faces -> crops -> model -> result (EmotionRecognizer in
core/pipeline.py); models/ says which served models; video/, live/, journal/, batch/ and
cli/ are built on core; serving/ is the app's Gradio-free server side; training/ makes the
models. Importing the package is cheap: models and cascades load lazily, on first use.
"""

__version__ = "0.1.0"
