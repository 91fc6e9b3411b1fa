"""Facial emotion recognition: Haar face detection + a Keras CNN trained on FER2013.

Importing this package is cheap: models and cascades load lazily, on first use.
"""

__version__ = "0.1.0"
