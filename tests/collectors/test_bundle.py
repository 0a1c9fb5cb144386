"""Bundle naming, atomic finalisation, run.json and samples.csv.gz format."""
from __future__ import annotations

import csv
import gzip
import os

import pytest

from analyzers.errors import TraceLoadError

from collectors import bundle


def test_finalize_renames_partial_and_never_overwrites(tmp_path):
    first = bundle.make_partial(str(tmp_path), "run")
    assert os.path.basename(first).startswith(".run.partial-")
    (tmp_path / "run").mkdir()  # an existing (even empty) bundle with that name
    (tmp_path / "run-2").write_text("not a bundle")  # and a file with the next one
    path = bundle.finalize(first, "run")
    assert path == str(tmp_path / "run-3")
    assert not os.path.exists(first)
    assert (tmp_path / "run-2").read_text() == "not a bundle"
    second = bundle.finalize(bundle.make_partial(str(tmp_path), "run"), "run")
    assert second == str(tmp_path / "run-4")
    assert not [p for p in os.listdir(tmp_path) if ".partial-" in p]


def test_partial_names_are_unique(tmp_path):
    a = bundle.make_partial(str(tmp_path), "x")
    b = bundle.make_partial(str(tmp_path), "x")
    assert a != b and os.path.isdir(a) and os.path.isdir(b)


def test_new_run_record_has_contract_keys():
    rec = bundle.new_run_record("w", ["--a"], {"threads": 1}, "cpu")
    for key in ("schema_version", "kind", "workload", "workload_args", "settings", "device", "env",
                "timed_steps", "status", "error", "created_unix", "nvml"):
        assert key in rec
    assert rec["schema_version"] == 1 and rec["kind"] == "torchscope-run"


def test_step_stats():
    stats = bundle.step_stats([4.0, 1.0, 3.0, 2.0])
    assert stats["median_ms"] == 2.5 and stats["mean_ms"] == 2.5 and stats["count"] == 4
    assert stats["step_ms"] == [4.0, 1.0, 3.0, 2.0]  # kept in run order
    assert bundle.step_stats([])["median_ms"] is None


def test_write_samples_header_order_and_empty_cells(tmp_path):
    path = str(tmp_path / "samples.csv.gz")
    rows = [{"time_ns": 20, "source": "host", "host_cpu_pct": 12.5, "host_rss_bytes": 1000},
            {"time_ns": 10, "source": "gpu0", "gpu_util_pct": 99, "power_w": 70.5}]
    assert bundle.write_samples(path, rows) == 2
    with gzip.open(path, "rt") as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == bundle.SAMPLE_COLUMNS
    assert table[0][:2] == ["time_ns", "source"]
    assert table[1][:3] == ["10", "gpu0", "99"] and table[1][-1] == ""  # sorted by time, empty cells
    assert table[2][1] == "host" and table[2][-3:] == ["12.5", "", "1000"]  # cpu, workload cpu (none), rss


def test_write_samples_header_only(tmp_path):
    path = str(tmp_path / "samples.csv.gz")
    bundle.write_samples(path, [])
    with gzip.open(path, "rt") as fh:
        assert fh.read().strip().split(",") == list(bundle.SAMPLE_COLUMNS)


def test_read_run_missing(tmp_path):
    with pytest.raises(TraceLoadError, match="cannot read"):
        bundle.read_run(str(tmp_path))
