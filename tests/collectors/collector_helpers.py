"""Helpers shared by the collectors tests (a uniquely named module: several conftest.py files exist)."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# Few steps so each real run takes a few seconds on 2 cores.
FAST: dict[str, Any] = {"warmup_steps": 1, "profile_steps": 2, "timed_steps": 4}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m collectors.cli ARGS`` from the repo root."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "collectors.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def load_trace(bundle: str | Path) -> dict[str, Any]:
    """Parse a bundle's trace.json.gz."""
    with gzip.open(Path(bundle) / "trace.json.gz", "rt") as fh:
        return json.load(fh)


def load_run(bundle: str | Path) -> dict[str, Any]:
    """Parse a bundle's run.json."""
    return json.loads((Path(bundle) / "run.json").read_text())


def leftovers(folder: Path) -> list[str]:
    """Temporary (partial) entries left in a runs folder."""
    return [p.name for p in folder.iterdir() if ".partial-" in p.name or p.name.endswith(".tmp")]
