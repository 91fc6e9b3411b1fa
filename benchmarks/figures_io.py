"""How every benchmark writes its figures: one JSON file under benchmarks/figures/ (or where
--json says), indented, ending in a newline, with the machine's load noted beside them."""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES = Path(__file__).resolve().parent / "figures"


def machine_load() -> dict:
    """The machine the figures were measured on: its cores and 1-minute load average."""
    return {"cpu_cores": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 1)}


def write_figures(path: str | Path, figures: dict, quiet: bool = False) -> Path:
    """Write ``figures`` as JSON to ``path`` (its folder made if needed); say where."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    if not quiet:
        print(f"wrote {path}")
    return path
