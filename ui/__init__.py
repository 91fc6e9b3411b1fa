"""The Gradio page (the only code that imports Gradio besides app.py): one module per tab
(photo_tab, live_tab, video_tab, journal_tab), the widgets they share (components), the
Blocks that answer malformed requests with one clear message (safe_blocks), and the page's
JS, HTML and CSS as files (assets/). Every event calls an action of
emotion_recognition.serving; nothing here analyzes anything."""
