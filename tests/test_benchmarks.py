"""Smoke tests: every benchmark script's ``--quick`` mode runs and writes its results.

The scripts live in ``benchmarks/`` (not a package, never imported by the
library); each is loaded from its path and its ``main(argv)`` is called.
"""

import csv
import importlib.util
import re
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

# script -> (name of its results file or folder under --out, file holding the table)
SCRIPTS = {
    "bench_w_init": ("w_init.md", None),
    "bench_fashion_table1": ("table1", "summary.md"),
    "bench_ablation": ("ablation", "summary.md"),
    "bench_gridsearch": ("gridsearch.md", None),
    "bench_speed": ("speed.md", None),
    "bench_scaling": ("scaling.md", None),  # written by another session; skipped if absent
    "bench_peers": ("peers", "summary.md"),
    "bench_label_issues": ("label_issues", "summary.md"),
    "diagnose_lenet": ("lenet_curves", None),
}


def _load(name):
    path = BENCHMARKS / f"{name}.py"
    if not path.exists():
        pytest.skip(f"{path.name} does not exist")
    spec = importlib.util.spec_from_file_location(f"_smoke_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results_text(out, table_file):
    if out.is_file():
        return out.read_text()
    if table_file is not None:
        return (out / table_file).read_text()
    # Unknown layout (a script written elsewhere): all Markdown it wrote.
    files = sorted(out.rglob("*.md")) if out.is_dir() else []
    assert files, f"no results written under {out}"
    return "\n".join(f.read_text() for f in files)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_quick_mode_writes_results(name, tmp_path, capsys):
    if name == "bench_scaling":
        pytest.importorskip("accelerate")
        pytest.importorskip("dask.distributed")
    if name == "bench_label_issues":
        pytest.importorskip("cleanlab")
    module = _load(name)
    target, table_file = SCRIPTS[name]
    out = tmp_path / target
    module.main(["--quick", "--out", str(out)])
    assert out.exists()
    text = _results_text(out, table_file)
    assert "Command: `" in text and "--quick" in text
    assert "|---" in text  # a Markdown table
    assert "|---" in capsys.readouterr().out  # and it was printed


PEERS_QUICK = ["--quick", "--methods", "skorch", "nnaqc", "--noise", "symmetric:0.5"]


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_peers_resumes_and_survives_a_torn_row(tmp_path, capsys):
    peers = _load("bench_peers")
    out = tmp_path / "peers"
    peers.main(PEERS_QUICK + ["--summary-only", "--out", str(out)])  # fits nothing
    assert not (out / "runs.csv").exists()
    assert "Partial: 0 of 2 runs finished" in (out / "summary.md").read_text()

    peers.main(PEERS_QUICK + ["--out", str(out)])
    rows = _csv_rows(out / "runs.csv")
    assert [r["method"] for r in rows] == ["skorch", "nnaqc"]
    assert all(float(r["fit_seconds"]) > 0 and 0 <= float(r["test_error"]) <= 100 for r in rows)
    assert "[2/2]" in capsys.readouterr().err

    # Nothing left to do: no fit runs, the same rows are reported.
    peers.main(PEERS_QUICK + ["--out", str(out)])
    assert "[1/2]" not in capsys.readouterr().err
    assert len(_csv_rows(out / "runs.csv")) == 2

    # A process killed while writing leaves half a row: that run is redone, the file stays valid.
    text = (out / "runs.csv").read_text().rstrip("\n")
    last = text.rfind("\n") + 1
    (out / "runs.csv").write_text(text[: last + (len(text) - last) // 2])
    peers.main(PEERS_QUICK + ["--out", str(out)])
    err = capsys.readouterr().err
    assert "[2/2]" in err and "[1/2]" not in err
    valid = [r for r in _csv_rows(out / "runs.csv") if r["fit_seconds"]]
    assert sorted(r["method"] for r in valid) == ["nnaqc", "skorch"]
    summary = (out / "summary.md").read_text()
    assert "| NNAQC | " in summary and "Partial" not in summary


@pytest.mark.slow
def test_peers_says_when_cleanlab_is_missing(tmp_path, capsys, monkeypatch):
    peers = _load("bench_peers")
    monkeypatch.setitem(sys.modules, "cleanlab", None)  # import cleanlab -> ImportError
    out = tmp_path / "peers"
    peers.main(["--quick", "--methods", "skorch", "cleanlab", "--noise", "symmetric:0.5",
                "--out", str(out)])
    captured = capsys.readouterr()
    assert "cleanlab is not installed" in captured.err
    assert [r["method"] for r in _csv_rows(out / "runs.csv")] == ["skorch"]
    assert "Not run (not available here): cleanlab" in (out / "summary.md").read_text()


@pytest.mark.slow
def test_peers_learning_curves_have_one_point_per_epoch(tmp_path):
    peers = _load("bench_peers")
    out = tmp_path / "peers"
    peers.main(["--quick", "--curves", "--out", str(out)])
    rows = _csv_rows(out / "curves_symmetric50.csv")
    by_method = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(int(r["epoch"]))
    assert set(by_method) == {"skorch", "base_es", "nnaqc"}
    assert by_method["nnaqc"] == [1, 2]  # --quick trains 2 epochs
    assert all(0 <= float(r["clean_test_error"]) <= 100 for r in rows)
    assert (out / "curves_symmetric50.png").stat().st_size > 0
    assert "Command: `" in (out / "curves_symmetric50.md").read_text()


def test_library_does_not_import_benchmarks():
    import sknnaqc

    package = Path(sknnaqc.__file__).parent
    imports = re.compile(r"^\s*(from|import)\s+\S*bench", re.MULTILINE)
    for source in package.rglob("*.py"):
        assert not imports.search(source.read_text()), source


def test_robust_table_matches_the_committed_results(capsys):
    # The table in benchmarks/results/robust_digits/README.md is this script's output.
    results = BENCHMARKS / "results" / "robust_digits"
    _load("robust_table").main([str(results / "symmetric"), str(results / "pairflip")])
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("| method | symmetric 0% |")
    assert printed in (results / "README.md").read_text()


@pytest.mark.slow
def test_table1_summary_only_rewrites_from_runs_csv(tmp_path, capsys):
    table1 = _load("bench_fashion_table1")
    out = tmp_path / "table1"
    quick = ["--quick", "--methods", "base", "nnaqc", "--out", str(out)]
    table1.main(quick)
    rows = _csv_rows(out / "runs.csv")
    assert {r["method"] for r in rows} == {"base", "nnaqc"}
    (out / "summary.md").unlink()

    table1.main(quick + ["--summary-only", "--note", "Seed 1 is still running."])
    text = (out / "summary.md").read_text()
    assert "Seed 1 is still running." in text
    assert "no fit in this invocation" in text
    command = re.search(r"Command: `([^`]*)`", text).group(1)
    assert "--summary-only" not in command and "--note" not in command
    # No new runs: the file is unchanged, and every finished run is in the table.
    assert _csv_rows(out / "runs.csv") == rows
    base_error = float(next(r["test_error"] for r in rows
                            if r["method"] == "base" and float(r["noise_rate"]) == 0.5))
    assert f"{base_error:.2f}" in text
