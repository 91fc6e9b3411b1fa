"""Batch analysis on Ray Data: inputs.py expands folders, globs, lists and URIs; model.py
ships the chosen model to every worker; stages.py detects (tasks), classifies (actors) and
analyzes videos; output.py writes Parquet and CSV resumably; run.py puts them together
(label_dataset, run_batch, ray_session); command.py is emotion-batch."""
