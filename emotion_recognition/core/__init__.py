"""The core, free of any front end: image -> faces -> crops -> model -> result.

decode (bytes -> RGB, limits checked first) -> detection (boxes; detection/policy.py is the
one policy) -> crops (FER2013-framed 48x48 faces) -> classify (the Keras model) -> pipeline
(EmotionRecognizer.analyze: an Analysis of Faces) -> annotate, explain, rows (what is
drawn, why, and the one face-row schema). types, labels, limits and errors are what they
all share. Nothing here imports anything outside core.
"""
