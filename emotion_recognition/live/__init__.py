"""Live webcam sessions: session.py analyses one frame after another (faces followed, records
kept for the timeline, the CSV and the journal), sessions.py is the server's registry of
them with its limits."""
