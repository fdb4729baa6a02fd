#!/bin/sh
# Phase 3 of the peers run (issue 11): the seeds phase 2 left, in two single-threaded processes
# that share runs.csv with disjoint cells (the engine re-reads runs.csv before each run and skips
# finished ones). Started 2026-11-25 06:07 UTC on main at the commit recorded in each row.
#   sh benchmarks/results/peers/run_phase3.sh a   # cleanlab: about 9 min a run
#   sh benchmarks/results/peers/run_phase3.sh b   # Co-teaching, F-correction, GCE, SCE
set -e
ALL="symmetric:0.5 random:0.5 pairflip:0.45 symmetric:0.8 symmetric:0.2"
step() { python benchmarks/bench_peers.py --threads 1 --seeds 1 "$@"; }
case "$1" in
a)
  for seed in 0 1 2; do
    for noise in $ALL; do step --seed-offset $seed --noise $noise --methods cleanlab; done
  done ;;
b)
  for noise in $ALL; do step --seed-offset 0 --noise $noise --methods coteaching; done
  for seed in 1 2; do
    for noise in $ALL; do step --seed-offset $seed --noise $noise --methods gce sce fcorrection; done
  done
  for seed in 1 2; do
    for noise in $ALL; do step --seed-offset $seed --noise $noise --methods coteaching; done
  done ;;
*) echo "usage: $0 a|b" >&2; exit 2 ;;
esac
python benchmarks/bench_peers.py --threads 1 --summary-only
