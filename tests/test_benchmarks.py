"""Smoke tests: every benchmark script's ``--quick`` mode runs and writes its results.

The scripts live in ``benchmarks/`` (not a package, never imported by the
library); each is loaded from its path and its ``main(argv)`` is called.
"""

import importlib.util
import re
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
    "bench_label_issues": ("label_issues", "summary.md"),
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
