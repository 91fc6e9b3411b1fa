"""Videos: probe.py checks a file, frames.py reads frames at a chosen rate, guided.py finds
faces near where they were, tracking.py keeps their numbers and smooths their
probabilities, writer.py writes the annotated video, analysis.py runs the whole loop, and
timeline.py turns its records into timelines and shares of time. Live sessions (live/)
reuse all of it for webcam frames."""
