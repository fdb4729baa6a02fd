#!/bin/sh
# Phase 2 of the peers run (issue 11), started once NNAQC's defaults were FINAL and main was
# merged (01:15 UTC): NNAQC into the same runs.csv, the 40-epoch learning curves, cleanlab
# at 50 %, then seeds 1 and 2 of the core comparison (plain skorch, early-stopped base,
# NNAQC), then what phase 1 left. One process, one torch thread. (This order replaced,
# while the cleanlab step ran, one that did NNAQC's seeds 1-2 alone first.)
set -e
ALL="symmetric:0.5 random:0.5 pairflip:0.45 symmetric:0.8 symmetric:0.2"
step() { python benchmarks/bench_peers.py --threads 1 --seeds 1 "$@"; }
summary() { python benchmarks/bench_peers.py --threads 1 --summary-only; }
for noise in $ALL; do step --seed-offset 0 --noise $noise --methods nnaqc; done
summary
python benchmarks/bench_peers.py --curves --epochs 40 --threads 1
step --seed-offset 0 --noise symmetric:0.5 --methods cleanlab
for seed in 1 2; do
  for noise in $ALL; do step --seed-offset $seed --noise $noise --methods skorch base_es nnaqc; done
  summary
done
IGNORE_FINAL=1 sh benchmarks/results/peers/run_phase1.sh
# Every method, every setting, seeds 0-2: fits whatever is still missing, writes summary.md.
python benchmarks/bench_peers.py --threads 1
