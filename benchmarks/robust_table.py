"""Error and fit-time table of one or more ``sknnaqc`` result folders.

Reads each folder's ``runs.csv`` (as written by the ``sknnaqc`` command) and
prints one Markdown table: a row per method, a column per (noise kind, rate)
with the clean-test error ``mean ± std`` over seeds, and the mean fit time in
seconds over all runs of the method. Used for
``benchmarks/results/robust_digits/README.md``::

    python benchmarks/robust_table.py benchmarks/results/robust_digits/symmetric \\
        benchmarks/results/robust_digits/pairflip

Sample output::

    | method | symmetric 0% | ... | pairflip 45% | fit (s) |
    |---|---|...|---|---|
    | Base model | 3.15 ± 0.00 | ... | 40.25 ± 3.27 | 1.5 |
"""

import argparse
import csv
import os

import numpy as np

from sknnaqc.experiment import METHODS


def load_rows(folders):
    rows = []
    for folder in folders:
        with open(os.path.join(folder, "runs.csv"), newline="") as fh:
            rows.extend(csv.DictReader(fh))
    return rows


def table(rows):
    columns = list(dict.fromkeys((r["noise_kind"], float(r["noise_rate"])) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["| method | " + " | ".join(f"{k} {p:.0%}" for k, p in columns) + " | fit (s) |",
             "|---|" + "---|" * (len(columns) + 1)]
    for m in methods:
        cells = []
        for kind, rate in columns:
            errs = [float(r["test_error"]) for r in rows if r["method"] == m
                    and r["noise_kind"] == kind and float(r["noise_rate"]) == rate]
            cells.append(f"{np.mean(errs):.2f} ± {np.std(errs):.2f}" if errs else "–")
        fit = np.mean([float(r["fit_seconds"]) for r in rows if r["method"] == m])
        lines.append(f"| {METHODS[m].label} | " + " | ".join(cells) + f" | {fit:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", help="folders holding a runs.csv")
    args = parser.parse_args(argv)
    print(table(load_rows(args.folders)))


if __name__ == "__main__":
    main()
