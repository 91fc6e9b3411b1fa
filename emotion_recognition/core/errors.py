"""Exceptions whose message is meant to be shown to the user as it is."""


class EmotionAppError(Exception):
    """Base class: the message explains what went wrong in plain words."""


class ImageDecodeError(EmotionAppError):
    """The input could not be read as an image (empty, truncated, not an image, too big)."""


class DetectionError(EmotionAppError):
    """OpenCV's face detection failed on an image (it says why, in a few words)."""


class DatasetError(EmotionAppError):
    """The FER2013 data is missing, laid out unexpectedly, or holds a broken file."""


class ModelLoadError(EmotionAppError):
    """No model could be loaded from the Hub nor from the bundled folder."""


class VideoError(EmotionAppError):
    """The video could not be read, or is over the size or length limit."""
