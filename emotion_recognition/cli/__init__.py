"""Command lines: photo.py (emotion-photo) and video.py (emotion-video); options.py holds
the options they share with emotion-batch (batch/command.py)."""
