"""Serving the app, free of Gradio: server.py holds one running app's state; photo.py,
video.py, live.py and journal.py are the actions the UI calls; tables.py makes the tables
people see; kept_photos.py keeps a session's last photo for re-runs; store.py owns uploads
and results on disk; middleware.py, clients.py, process.py and log.py are what the web
server puts around the app (bodies and uploads counted, per-client caps, clean stops,
one log line per user error)."""
