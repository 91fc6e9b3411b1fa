"""The networks we compare: a plain custom CNN, a VGG-style net and a ResNet-style net.

Every builder takes raw grey faces (N, 48, 48, 1) in 0..255, normalises them inside the
graph, and ends in a layer named ``logits`` followed by a softmax named ``probabilities``,
so the exported models need no custom objects and callers never normalise.
"""

from __future__ import annotations

import keras
from keras import layers

from emotion_recognition.core.crops import FACE_SIZE

INPUT_SHAPE = (FACE_SIZE, FACE_SIZE, 1)


def _head(x, num_classes: int, dropout: float):
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(num_classes, name="logits")(x)
    return layers.Activation("softmax", name="probabilities", dtype="float32")(x)


def _conv_bn_relu(x, filters: int, strides: int = 1):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def _normalised_input():
    inputs = keras.Input(INPUT_SHAPE, name="face")
    return inputs, layers.Rescaling(1 / 127.5, offset=-1.0, name="normalise")(inputs)


def custom_cnn(num_classes: int = 7, width: int = 32, dropout: float = 0.4) -> keras.Model:
    """The seed projects' plain CNN: conv/pool stacks and a dense layer, no batch norm."""
    inputs, x = _normalised_input()
    for filters in (width, width * 2, width * 4):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(width * 8, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="custom_cnn")


def vgg(num_classes: int = 7, width: int = 32, convs_per_block: int = 2,
        dropout: float = 0.4) -> keras.Model:
    """VGG-style: blocks of 3x3 conv + batch norm + ReLU, max-pool between blocks, GAP head."""
    inputs, x = _normalised_input()
    for block, filters in enumerate((width, width * 2, width * 4, width * 8)):
        for _ in range(convs_per_block):
            x = _conv_bn_relu(x, filters)
        if block < 3:
            x = layers.MaxPooling2D()(x)
    return keras.Model(inputs, _head(x, num_classes, dropout), name="vgg")


def _residual_block(x, filters: int, strides: int):
    shortcut = x
    y = _conv_bn_relu(x, filters, strides)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if strides != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.Activation("relu")(layers.Add()([y, shortcut]))


def resnet(num_classes: int = 7, width: int = 32, blocks_per_stage: int = 1,
           dropout: float = 0.4) -> keras.Model:
    """ResNet-style: a stem, then stages of basic residual blocks that halve the grid."""
    inputs, x = _normalised_input()
    x = _conv_bn_relu(x, width)
    for stage, filters in enumerate((width, width * 2, width * 4, width * 8)):
        for block in range(blocks_per_stage):
            x = _residual_block(x, filters, strides=2 if stage > 0 and block == 0 else 1)
    return keras.Model(inputs, _head(x, num_classes, dropout), name="resnet")


ARCHITECTURES = {"custom_cnn": custom_cnn, "vgg": vgg, "resnet": resnet}


def build(name: str, num_classes: int, **options) -> keras.Model:
    """Build an architecture by name (see ARCHITECTURES)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture '{name}'; choose from {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name](num_classes=num_classes, **options)
