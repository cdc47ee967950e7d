#!/usr/bin/env bash
# Determinism matrix: a fixed seed set over every scenarios/*.json must
# produce identical trace hashes under two builds (say gcc vs clang, or
# -O0 vs -O2). On the first mismatch of each scenario it names the first
# differing trace event with `meshsim diverge --against`.
#
#   bash tools/lint/determinism_matrix.sh BUILD_A BUILD_B [SEEDS] [SWARM_SEEDS]
#
# BUILD_X is a build directory holding tools/meshsim. SEEDS (default 1..8)
# runs each scenario as written; SWARM_SEEDS (default 1..8) also runs each
# scenario under --swarm, so the generated fault timelines are covered too.
# Exit 0: every hash matched; 1: a mismatch; 2: usage or missing binaries.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD_A BUILD_B [SEEDS A..B] [SWARM_SEEDS A..B]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/../.." && pwd)"
a="$1/tools/meshsim"
b="$2/tools/meshsim"
seeds="${3:-1..8}"
swarm_seeds="${4:-1..8}"
for bin in "$a" "$b"; do
  if [ ! -x "$bin" ]; then
    echo "determinism matrix: $bin not found or not executable (build it first)" >&2
    exit 2
  fi
done

hash_of() {  # BINARY SCENARIO SEED [--swarm]; a FAILing run still has a hash
  { "$1" run "$2" --seed "$3" ${4:-} 2>/dev/null || true; } | sed -n 's/.*trace_hash=\([0-9a-f]*\).*/\1/p' | tail -1
}

status=0
checked=0
for scenario in "$root"/scenarios/*.json; do
  name="$(basename "$scenario" .json)"
  for mode in plain swarm; do
    range="$seeds"; flag=""
    if [ "$mode" = swarm ]; then range="$swarm_seeds"; flag="--swarm"; fi
    first="${range%..*}"; last="${range#*..}"
    for seed in $(seq "$first" "$last"); do
      ha="$(hash_of "$a" "$scenario" "$seed" "$flag")"
      hb="$(hash_of "$b" "$scenario" "$seed" "$flag")"
      checked=$((checked + 1))
      if [ -z "$ha" ] || [ "$ha" != "$hb" ]; then
        echo "MISMATCH $name seed=$seed $mode: $1=${ha:-none} $2=${hb:-none}"
        "$a" diverge "$scenario" --seed "$seed" $flag --against "$b" || true
        status=1
        break  # one bisection per scenario and mode is enough to start from
      fi
    done
  done
done
if [ $status -eq 0 ]; then
  echo "determinism matrix: $checked runs, identical trace hashes under $1 and $2"
else
  echo "determinism matrix: FAILED (see MISMATCH lines above)"
fi
exit $status
