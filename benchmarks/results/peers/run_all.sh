#!/bin/sh
# The exact sequence of commands that produced benchmarks/results/peers/ (run from the
# repository root, one process at a time, one torch thread). Every step appends to the
# same runs.csv and skips runs already there; after each step the full summary is
# rewritten from runs.csv (--summary-only fits nothing).
set -e
summary() { python benchmarks/bench_peers.py --threads 1 --summary-only; }
# 1. the core comparison, seed 0, all five noise settings
python benchmarks/bench_peers.py --threads 1 --seeds 1 --methods skorch nnaqc base_es; summary
# 2. learning curves at 50 % symmetric noise, 40 epochs (item 3 of issue 11)
python benchmarks/bench_peers.py --curves --epochs 40 --threads 1
# 3. the other methods, seed 0, 50 % noise (symmetric and eq. 1) first
python benchmarks/bench_peers.py --threads 1 --seeds 1 --noise symmetric:0.5 random:0.5; summary
# 4. seeds 1 and 2 of the core comparison
python benchmarks/bench_peers.py --threads 1 --seeds 2 --seed-offset 1 --methods skorch nnaqc base_es; summary
# 5. everything else (all methods, all settings, seeds 0-2)
python benchmarks/bench_peers.py --threads 1
