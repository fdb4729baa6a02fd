"""The ``sknnaqc`` command: a quick run, resuming, argument errors."""

import csv
import re
import subprocess
import sys

import pytest

from sknnaqc.cli import main

QUICK = ["--seeds", "1", "--noise-rates", "0.5", "--epochs", "2", "--threads", "1"]


def _n_rows(path):
    with open(path, newline="") as fh:
        return len(list(csv.DictReader(fh)))


@pytest.mark.slow
def test_quick_run_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(QUICK + ["--output", str(out)]) == 0
    for name in ("summary.md", "summary.csv", "runs.csv", "error_vs_noise.png"):
        assert (out / name).is_file(), name
    summary = (out / "summary.md").read_text()
    assert "Command: `sknnaqc --seeds 1 --noise-rates 0.5 --epochs 2" in summary
    assert "| Base model |" in summary and "| NNAQC |" in summary
    assert "| NNAQC |" in capsys.readouterr().out
    assert _n_rows(out / "runs.csv") == 2  # base + nnaqc, one seed, one noise rate

    # Second call: everything is in runs.csv already, nothing is re-run.
    assert main(QUICK + ["--output", str(out)]) == 0
    assert _n_rows(out / "runs.csv") == 2
    assert "[1/2]" not in capsys.readouterr().err

    # Another learning rate is another run: trained, not taken from runs.csv.
    assert main(QUICK + ["--methods", "base", "--lr", "0.05", "--output", str(out)]) == 0
    assert _n_rows(out / "runs.csv") == 3
    assert "[1/1]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, option",
    [
        (["--methods", "nnaqc", "no_such_method"], "--methods"),
        (["--noise-rates", "1.5"], "--noise-rates"),
        (["--epochs", "0"], "--epochs"),
        (["--seeds", "0"], "--seeds"),
        (["--dataset", "imagenet"], "--dataset"),
        (["--threads", "0"], "--threads"),
    ],
)
def test_bad_arguments_are_argparse_errors(argv, option, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv + ["--output", str(tmp_path / "never")])
    assert exc.value.code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_mnist_without_data_dir_exits_2(tmp_path, capsys):
    assert main(["--dataset", "mnist", "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "sknnaqc: error:" in err and "--data-dir" in err


def test_missing_data_dir_exits_2(tmp_path, capsys):
    missing = tmp_path / "no_such_folder"
    code = main(["--dataset", "mnist", "--data-dir", str(missing),
                 "--output", str(tmp_path / "out")])
    assert code == 2
    assert "sknnaqc: error:" in capsys.readouterr().err


def test_module_help():
    result = subprocess.run([sys.executable, "-m", "sknnaqc", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "usage: sknnaqc" in result.stdout
    assert "--noise-rates" in result.stdout


def test_all_methods_can_be_extended(tmp_path, monkeypatch):
    import sknnaqc.cli as cli

    seen = {}

    def fake_run(**kwargs):
        seen.update(kwargs)
        raise ValueError("stop here")

    monkeypatch.setattr(cli, "run_experiment", fake_run)
    assert main(["--methods", "all", "nna", "--output", str(tmp_path / "o")]) == 2
    assert seen["methods"][-1] == "nna" and "nnaqc" in seen["methods"]
    assert len(seen["methods"]) == 10


PROGRESS = ["--seeds", "1", "--noise-rates", "0.5", "--epochs", "3", "--methods", "base",
            "--threads", "1"]


class _Terminal:
    """A stand-in for a terminal's stderr: collects text, says it is a TTY."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_progress_is_silent_by_default_when_stderr_is_not_a_terminal(tmp_path, capsys):
    assert main(PROGRESS + ["--output", str(tmp_path / "res")]) == 0
    err = capsys.readouterr().err
    assert "[1/1]" in err  # the per-run line is still there
    assert "epoch" not in err  # but no per-epoch lines in logs


def test_progress_always_prints_one_line_per_epoch_in_logs(tmp_path, capsys):
    assert main(PROGRESS + ["--progress", "always", "--output", str(tmp_path / "res")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "epoch" in line]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("train loss" in line for line in lines)


def test_progress_on_a_terminal_rewrites_one_line(tmp_path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(PROGRESS + ["--output", str(tmp_path / "res")]) == 0
    err = "".join(terminal.parts)
    for epoch in (1, 2, 3):
        assert f"\r  epoch {epoch}/3  train loss" in err
    # Every progress line is ended by a carriage return (overwritten), never a newline,
    # and the line is erased before the per-run result is printed.
    assert not re.search(r"epoch \d+/\d+[^\r]*\n", err)
    assert re.search(r"\r +\r\[1/1\]", err)


def test_no_progress_with_never_or_verbose(tmp_path, monkeypatch):
    for extra in (["--progress", "never"], ["--verbose"]):
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main(PROGRESS + extra + ["--output", str(tmp_path / extra[0])]) == 0
        assert "\r  epoch" not in "".join(terminal.parts)
