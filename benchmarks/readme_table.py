"""Print the README's headline table from committed benchmark results.

Our Fashion-MNIST Table 1 cells (mean over seeds) beside the paper's MNIST
60K numbers (Table 1 of Jindal et al., for context only: a different, easier
dataset and many more epochs). Run::

    python benchmarks/readme_table.py benchmarks/results/fashion_table1/summary.csv

``--no-paper`` leaves the paper's numbers out (e.g. for the 20K column, which the
paper's 60K numbers do not describe).
"""

import csv
import sys

from sknnaqc.experiment import PAPER_METHODS

# The paper's Table 1, MNIST, 60K training samples, noise 0/5/10/30/50/70 %.
PAPER_MNIST_60K = {
    "base": [0.89, 2.67, 3.68, 4.50, 34.50, 48.80],
    "genie": [0.89, 2.67, 3.68, 4.50, 34.50, 48.80],
    "trace": [1.29, 1.40, 1.46, 2.12, 3.80, 24.20],
    "bootstrap": [1.29, 1.30, 1.41, 2.00, 3.60, 22.20],
    "dropout": [1.29, 1.29, 1.32, 1.83, 2.83, 24.60],
    "fcorrection": [1.12, 1.13, 1.19, 1.50, 2.23, 21.00],
    "nnaqc": [1.14, 1.15, 1.24, 1.83, 2.20, 16.42],
    "regu_nnaqc": [1.01, 1.08, 1.18, 1.46, 2.19, 18.70],
}
PAPER_RATES = [0.0, 0.05, 0.1, 0.3, 0.5, 0.7]


def main(path, paper_numbers=True):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    rates = sorted({float(r["noise_rate"]) for r in rows})
    present = {r["method"] for r in rows}
    methods = [m for m in PAPER_METHODS if m in present] + sorted(present - set(PAPER_METHODS))
    labels = {r["method"]: r["label"] for r in rows}
    cells = {(r["method"], float(r["noise_rate"])): r for r in rows}
    best = {p: min(float(r["mean"]) for r in rows if float(r["noise_rate"]) == p
                   and r["method"] != "genie" and r["method"] != "genie_qc") for p in rates}
    print("| method | " + " | ".join(f"{p:.0%}" for p in rates) + " |")
    print("|---|" + "---|" * len(rates))
    for m in methods:
        out = []
        for p in rates:
            r = cells.get((m, p))
            if r is None:
                out.append("–")
                continue
            text = f"{float(r['mean']):.2f} ± {float(r['std']):.2f} ({r['n_seeds']})"
            if float(r["mean"]) == best[p] and m not in ("genie", "genie_qc"):
                text = f"**{text}**"
            paper = PAPER_MNIST_60K.get(m)
            if paper_numbers and paper and p in PAPER_RATES:
                text += f" · {paper[PAPER_RATES.index(p)]:.2f}"
            out.append(text)
        print(f"| {labels[m]} | " + " | ".join(out) + " |")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-paper"]
    main(args[0] if args else "benchmarks/results/fashion_table1/summary.csv",
         paper_numbers="--no-paper" not in sys.argv[1:])
