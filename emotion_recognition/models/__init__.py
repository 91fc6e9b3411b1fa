"""The served models: the folder bundled with the code (bundled.py) and the pinned Hugging
Face Hub revisions that can replace it (hub.py)."""
