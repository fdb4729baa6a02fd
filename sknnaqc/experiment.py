"""Noisy-label experiments: corrupt, train every method, measure clean-test error.

The engine behind the ``sknnaqc`` command and the benchmark scripts. One run
is (dataset, train size, noise kind and rate, method, seed); results are
appended to a CSV as each run finishes, so an interrupted experiment resumes
where it stopped.
"""

import csv
import io
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .baselines import (
    BaseModelClassifier,
    BootstrappingClassifier,
    DropoutNoiseLayerClassifier,
    ForwardCorrectionClassifier,
    GenieAidedClassifier,
    TraceRegularizedClassifier,
)
from .nnaqc import NNAQCClassifier
from .robust import (
    CoTeachingClassifier,
    GeneralizedCrossEntropyClassifier,
    SymmetricCrossEntropyClassifier,
)
from .noise import corrupt_labels, make_transition_matrix

__all__ = ["METHODS", "DATASETS", "Method", "load_experiment_data", "run_experiment",
           "finished_runs",
           "summarize", "write_summary"]


@dataclass(frozen=True)
class Method:
    """A named way of building an estimator for one run."""

    label: str
    build: Callable  # (common_params: dict, true_transition_matrix) -> estimator


METHODS = {
    "base": Method("Base model", lambda c, T: BaseModelClassifier(**c)),
    "genie": Method("Genie-aided", lambda c, T: GenieAidedClassifier(transition_matrix=T, **c)),
    "genie_qc": Method(
        "Genie-aided (QC)",
        lambda c, T: GenieAidedClassifier(transition_matrix=T, alpha=0.9, beta=0.9, **c),
    ),
    "trace": Method("Trace", lambda c, T: TraceRegularizedClassifier(**c)),
    "bootstrap": Method("Bootstrapping", lambda c, T: BootstrappingClassifier(**c)),
    "dropout": Method("Dropout", lambda c, T: DropoutNoiseLayerClassifier(**c)),
    "fcorrection": Method("F-correction", lambda c, T: ForwardCorrectionClassifier(**c)),
    "nnaqc": Method("NNAQC", lambda c, T: NNAQCClassifier(**c)),
    "regu_nnaqc": Method("Regu. NNAQC", lambda c, T: NNAQCClassifier(**{**c, "noise_dropout": 0.5})),
    # Ablation of Table 5.
    "nna": Method("NNA only (alpha=1)",
                  lambda c, T: NNAQCClassifier(**{**c, "alpha": 1.0, "class_balance": 0.0})),
    "qc": Method("QC only (alpha=0)",
                 lambda c, T: NNAQCClassifier(**{**c, "alpha": 0.0, "class_balance": 0.0})),
    "qc_balance": Method("QC + class balance (alpha=0)",
                         lambda c, T: NNAQCClassifier(**{**c, "alpha": 0.0})),
    "nnaqc_paper": Method("NNAQC, paper's loss (class_balance=0)",
                          lambda c, T: NNAQCClassifier(**{**c, "class_balance": 0.0})),
    # Beyond the paper (robust losses, sample selection); default parameters.
    "gce": Method("GCE (q=0.7)", lambda c, T: GeneralizedCrossEntropyClassifier(**c)),
    "sce": Method("SCE", lambda c, T: SymmetricCrossEntropyClassifier(**c)),
    "coteaching": Method("Co-teaching", lambda c, T: CoTeachingClassifier(**c)),
}
PAPER_METHODS = ["base", "genie", "genie_qc", "trace", "bootstrap", "dropout", "fcorrection",
                 "nnaqc", "regu_nnaqc"]

# dataset -> (default epochs, description of the default network)
DATASETS = {
    "digits": (40, "MLP (64-128-10)"),
    "fashion-mnist": (5, "the paper's MNIST LeNet"),
    "mnist": (5, "the paper's MNIST LeNet"),
    "cifar10": (10, "the paper's CIFAR-10 LeNet"),
}

FIELDS = ["dataset", "n_train", "noise_kind", "noise_rate", "method", "seed", "epochs",
          "batch_size", "test_error", "fit_seconds", "params"]


def load_experiment_data(dataset, data_dir=None):
    """Return ``(X_train, y_train, X_test, y_test, module)`` for a dataset name.

    ``module`` is the default base network (None: the estimators' default MLP).
    digits needs no files; the others read local files from ``data_dir``.
    """
    from . import datasets, networks

    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0,
                                                  stratify=y)
        return X_tr, y_tr, X_te, y_te, None
    if dataset in ("fashion-mnist", "mnist"):
        if dataset == "fashion-mnist":
            load = datasets.load_fashion_mnist
            data_dir = data_dir or datasets.FASHION_MNIST_DIR
        else:
            load = datasets.load_mnist
            if data_dir is None:
                raise ValueError("--data-dir is required for mnist (no default location).")
        X_tr, y_tr = load(data_dir, subset="train")
        X_te, y_te = load(data_dir, subset="test")
        return X_tr, y_tr, X_te, y_te, networks.mnist_lenet
    if dataset == "cifar10":
        if data_dir is None:
            raise ValueError("--data-dir is required for cifar10 (no default location).")
        X_tr, y_tr = datasets.load_cifar10(data_dir, subset="train")
        X_te, y_te = datasets.load_cifar10(data_dir, subset="test")
        return X_tr, y_tr, X_te, y_te, networks.cifar_lenet
    raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")


def _subsample(X, y, n, seed=0):
    if n is None or n >= len(y):
        return X, y
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed, stratify=y)
    idx = np.sort(idx)
    return X[idx], y[idx]


def _read_done(path, log=None):
    """The readable rows of a results CSV; torn or damaged rows are skipped.

    A run killed while writing its row can leave a partial line. Such rows
    are left out (and, with ``log``, reported there), so that resuming
    re-runs them instead of crashing.
    """
    if not os.path.exists(path):
        return []
    rows, bad = [], []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            if _readable(row):
                rows.append(row)
            else:
                bad.append(reader.line_num)
    if bad and log is not None:
        print(f"{path}: skipped {len(bad)} unreadable row(s) (line(s) "
              f"{', '.join(map(str, bad[:10]))}{' ...' if len(bad) > 10 else ''}); "
              "those runs will be run again.", file=log, flush=True)
    return rows


def _readable(row):
    if None in row or None in row.values():  # too many or too few fields
        return False
    try:
        _key(row)
        float(row["test_error"])
    except (KeyError, TypeError, ValueError):
        return False
    return True


class _RowAppender:
    """Appends CSV rows to a results file, each with one ``write`` call.

    A run killed mid-write then cannot leave half a row that a later row
    continues; a torn last line left by an older version is terminated
    before the first new row.
    """

    def __init__(self, path, fields, write_header):
        self.path, self.fields, self.write_header = path, fields, write_header

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        size = os.fstat(self.fd).st_size
        if self.write_header and size == 0:
            self._write(None)
        elif size and os.pread(self.fd, 1, size - 1) not in (b"\n", b"\r"):
            os.write(self.fd, b"\r\n")
        return self

    def _write(self, row):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.fields, extrasaction="ignore")
        if row is None:
            writer.writeheader()
        else:
            writer.writerow(row)
        os.write(self.fd, buffer.getvalue().encode())

    def writerow(self, row):
        self._write(row)

    def __exit__(self, *exc):
        os.close(self.fd)


def _key(row):
    # Every setting that changes a run's result; rows written before the
    # "params" column existed used no extra estimator parameters.
    return (row["dataset"], int(row["n_train"]), row["noise_kind"],
            round(float(row["noise_rate"]), 6), row["method"], int(row["seed"]),
            int(row["epochs"]), int(row["batch_size"]), row.get("params") or "")


def _params_text(params):
    return ";".join(f"{k}={params[k]!r}" for k in sorted(params))


def _header(path):
    with open(path, newline="") as fh:
        return next(csv.reader(fh), [])


def run_experiment(
    *,
    dataset="digits",
    data_dir=None,
    noise_kind="random",
    noise_rates=(0.0, 0.3, 0.5, 0.7),
    methods=("base", "nnaqc"),
    train_sizes=(None,),
    seeds=(0, 1, 2),
    epochs=None,
    batch_size=100,
    device="cpu",
    results_csv="results/runs.csv",
    estimator_params=None,
    log=None,
    callbacks=None,
):
    """Run every combination and append one CSV row per finished run.

    Runs already in ``results_csv`` (same settings) are skipped, so a
    stopped experiment continues where it was. Runs are ordered seed-major:
    every noise rate and method of seed 0 first, so a partial run still
    covers the whole table with fewer seeds.

    ``callbacks`` (skorch callbacks, e.g. a progress display) are given to
    every fit; they must not change results, so they are not part of a run's
    settings in ``results_csv``.

    Returns
    -------
    rows : list of dict
        All rows in ``results_csv`` that belong to this experiment.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {sorted(METHODS)}")
    log = sys.stderr if log is None else log  # looked up per call: stderr may be replaced
    epochs = epochs or DATASETS[dataset][0]
    X_full, y_full, X_te, y_te, module = load_experiment_data(dataset, data_dir)
    n_classes = len(np.unique(y_full))
    os.makedirs(os.path.dirname(os.path.abspath(results_csv)), exist_ok=True)
    done = {_key(r) for r in _read_done(results_csv, log=log)}
    # An empty file (a run stopped before its first row) gets a header too:
    # without one every later row would be written with no fields.
    new_file = not os.path.exists(results_csv) or os.path.getsize(results_csv) == 0
    params_text = _params_text(estimator_params or {})
    fields = FIELDS if new_file else _header(results_csv)
    if "params" not in fields and params_text:
        raise ValueError(
            f"{results_csv} was written without a params column, so runs with "
            f"estimator parameters ({params_text}) cannot be told apart from "
            "its runs; use a new output folder."
        )

    plan = [(seed, n, p, m) for seed in seeds for n in train_sizes for p in noise_rates
            for m in methods]
    mine = []
    with _RowAppender(results_csv, fields, write_header=new_file) as writer:
        start = time.time()
        for i, (seed, n, p, method) in enumerate(plan, 1):
            X_tr, y_tr = _subsample(X_full, y_full, n)
            row = dict(dataset=dataset, n_train=len(y_tr), noise_kind=noise_kind,
                       noise_rate=p, method=method, seed=seed, epochs=epochs,
                       batch_size=batch_size, params=params_text)
            mine.append(_key(row))
            # Re-read: another process may share this CSV (disjoint seeds).
            if _key(row) in done or _key(row) in {_key(r) for r in _read_done(results_csv)}:
                continue
            T = make_transition_matrix(n_classes, p, kind=noise_kind, random_state=seed)
            y_noisy = corrupt_labels(y_tr, transition_matrix=T, random_state=seed)
            # estimator_params may replace the dataset's default network (module=...).
            common = dict(module=module, max_epochs=epochs, batch_size=batch_size,
                          device=device, random_state=seed)
            common.update(estimator_params or {})
            if callbacks:
                common["callbacks"] = list(callbacks)
            clf = METHODS[method].build(common, T)
            t0 = time.time()
            clf.fit(X_tr, y_noisy)
            fit_seconds = time.time() - t0
            error = 1.0 - clf.score(X_te, y_te)
            row.update(test_error=round(100 * error, 4), fit_seconds=round(fit_seconds, 2))
            writer.writerow(row)
            print(f"[{i}/{len(plan)}] {dataset} n={len(y_tr)} noise={p:.0%} "
                  f"{METHODS[method].label:<18} seed={seed}: error {100 * error:6.2f}% "
                  f"(fit {fit_seconds:.1f} s, elapsed {time.time() - start:.0f} s)",
                  file=log, flush=True)
    mine = set(mine)
    return [r for r in finished_runs(results_csv) if _key(r) in mine]


def finished_runs(results_csv):
    """The finished runs in a results CSV, one row per run.

    Unreadable (torn) rows are skipped, and when two processes sharing the
    file finished the same run, the first row written counts.

    Parameters
    ----------
    results_csv : str or path-like
        A file written by :func:`run_experiment`.

    Returns
    -------
    rows : list of dict
        The rows as ``csv.DictReader`` reads them, in file order.
    """
    seen, rows = set(), []
    for r in _read_done(results_csv):
        if _key(r) not in seen:
            seen.add(_key(r))
            rows.append(r)
    return rows


def summarize(rows):
    """Mean and std of test error per (n_train, method, noise_rate).

    Returns
    -------
    summary : list of dict
        Keys ``n_train, method, label, noise_rate, mean, std, n_seeds``.
    """
    groups = {}
    for r in rows:
        key = (int(r["n_train"]), r["method"], float(r["noise_rate"]))
        groups.setdefault(key, []).append(float(r["test_error"]))
    out = []
    for (n, method, p), errs in sorted(groups.items()):
        e = np.asarray(errs)
        out.append(dict(n_train=n, method=method, label=METHODS[method].label, noise_rate=p,
                        mean=e.mean(), std=e.std(), n_seeds=len(e)))
    return out


def markdown_table(summary, method_order=None):
    """Methods as rows, noise rates as columns, ``mean ± std (seeds)`` cells."""
    rates = sorted({s["noise_rate"] for s in summary})
    sizes = sorted({s["n_train"] for s in summary})
    order = method_order or list(dict.fromkeys(s["method"] for s in summary))
    cells = {(s["n_train"], s["method"], s["noise_rate"]): s for s in summary}
    lines = []
    for n in sizes:
        lines.append(f"Training samples: {n}. Clean-test error (%), mean ± std over seeds "
                     "(number of seeds in brackets).\n")
        lines.append("| method | " + " | ".join(f"{p:.0%}" for p in rates) + " |")
        lines.append("|---|" + "---|" * len(rates))
        for m in order:
            row = []
            for p in rates:
                s = cells.get((n, m, p))
                row.append("–" if s is None else
                           f"{s['mean']:.2f} ± {s['std']:.2f} ({s['n_seeds']})")
            lines.append(f"| {METHODS[m].label} | " + " | ".join(row) + " |")
        lines.append("")
    return "\n".join(lines)


def write_summary(rows, out_dir, *, title, command, notes="", method_order=None):
    """Write ``summary.md``, ``summary.csv`` and ``error_vs_noise.png`` to ``out_dir``.

    Returns the Markdown table (also printed by the command-line tool).
    """
    os.makedirs(out_dir, exist_ok=True)
    summary = summarize(rows)
    table = markdown_table(summary, method_order)
    with open(os.path.join(out_dir, "summary.md"), "w") as fh:
        fh.write(f"# {title}\n\nCommand: `{command}`\n\n{notes}\n\n{table}\n")
    with open(os.path.join(out_dir, "summary.csv"), "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]) if summary else ["method"])
        writer.writeheader()
        writer.writerows(summary)
    _plot(summary, os.path.join(out_dir, "error_vs_noise.png"), title)
    return table


def _plot(summary, path, title):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; no plot written "
              '(pip install "sknnaqc[plot]").', file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for n in sorted({s["n_train"] for s in summary}):
        for method in dict.fromkeys(s["method"] for s in summary):
            pts = [s for s in summary if s["method"] == method and s["n_train"] == n]
            if not pts:
                continue
            pts.sort(key=lambda s: s["noise_rate"])
            ax.errorbar([100 * s["noise_rate"] for s in pts], [s["mean"] for s in pts],
                        yerr=[s["std"] for s in pts], marker="o", capsize=3,
                        label=METHODS[method].label + (f" (n={n})" if len(
                            {s['n_train'] for s in summary}) > 1 else ""))
    ax.set_xlabel("label noise (%)")
    ax.set_ylabel("clean-test error (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
