"""The emotions: FER2013's 7 classes and the emotion sets the models are served for.

An EmotionSet is the one place that says what "emotion7" or "emotion4" means: its name
(the API's and the CLI's value, and the served model's file name), its labels, where
those labels sit among the 7 FER2013 classes, and its title for people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion_recognition.core.errors import EmotionAppError

# FER2013's label order: fer2013.csv's integers index it; the Kaggle folders use the names.
EMOTIONS7 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
INDEX_OF = {name: i for i, name in enumerate(EMOTIONS7)}


@dataclass(frozen=True)
class EmotionSet:
    """A set of emotions a served model tells apart (a subset of FER2013's 7, in order)."""

    name: str
    labels: tuple[str, ...]
    title: str

    def __post_init__(self):
        unknown = [label for label in self.labels if label not in INDEX_OF]
        if unknown:
            raise ValueError(f"{self.name}: {unknown} are not FER2013 classes")

    @property
    def indices(self) -> tuple[int, ...]:
        """Where each label sits among the 7 FER2013 classes."""
        return tuple(INDEX_OF[label] for label in self.labels)

    @property
    def model_file(self) -> str:
        return f"{self.name}.keras"

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        return iter(self.labels)

    def restrict(self, labels7: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of the FER2013 labels in this set, those labels re-indexed into it)."""
        position = np.full(len(EMOTIONS7), -1, np.int64)
        position[list(self.indices)] = np.arange(len(self.labels))
        labels7 = np.asarray(labels7, np.int64)
        mask = position[labels7] >= 0
        return mask, position[labels7[mask]]

    def from_seven(self, values7: np.ndarray) -> np.ndarray:
        """The columns of (N, 7) FER2013-ordered values (logits, votes) for this set."""
        return np.asarray(values7)[..., list(self.indices)]

    def renormalise(self, probabilities7: np.ndarray) -> np.ndarray:
        """7-class probabilities -> this set's, renormalised to sum to 1."""
        subset = self.from_seven(probabilities7)
        return subset / subset.sum(axis=-1, keepdims=True)


SEVEN = EmotionSet("emotion7", EMOTIONS7, "7 emotions")
FOUR = EmotionSet("emotion4", ("angry", "happy", "sad", "neutral"),
                  "4 emotions (angry, happy, sad, neutral)")
EMOTION_SETS = {emotion_set.name: emotion_set for emotion_set in (SEVEN, FOUR)}
DEFAULT_EMOTION_SET = SEVEN.name
EMOTIONS4 = FOUR.labels


def emotion_set(name: str | EmotionSet | None) -> EmotionSet:
    """The EmotionSet called ``name`` (None: the default); a clear error for anything else."""
    if isinstance(name, EmotionSet):
        return name
    if name is None or name == "":
        return EMOTION_SETS[DEFAULT_EMOTION_SET]
    if name not in EMOTION_SETS:
        raise EmotionAppError(f"Unknown emotion set '{name}': choose "
                              f"{' or '.join(EMOTION_SETS)}.")
    return EMOTION_SETS[name]


EMOTION_SET_SIZES = tuple(str(len(s)) for s in EMOTION_SETS.values())  # the CLIs' --emotions


def emotion_set_of_size(size: int | str) -> EmotionSet:
    """The EmotionSet with this many emotions (the CLIs' ``--emotions 7`` or ``4``)."""
    for candidate in EMOTION_SETS.values():
        if len(candidate) == int(size):
            return candidate
    raise ValueError(f"no emotion set has {size} emotions")


def emotion_set_of_labels(labels: tuple[str, ...]) -> EmotionSet:
    """The EmotionSet with exactly these labels (e.g. a network's outputs)."""
    for candidate in EMOTION_SETS.values():
        if tuple(labels) == candidate.labels:
            return candidate
    raise ValueError(f"no emotion set has the labels {labels}")
