#!/usr/bin/env bash
# meshd developer entry point. Run as root on a fresh Debian 12 machine:
#
#   bash tools/dev.sh demo    install deps, build, run the default scenario
#   bash tools/dev.sh test    install deps, build, run the whole test suite
#   bash tools/dev.sh asan    same tests under ASan + UBSan
#   bash tools/dev.sh matrix  gcc vs clang trace-hash determinism matrix
#   bash tools/dev.sh bench   build the release preset and run the benchmarks
#   bash tools/dev.sh fuzz    build the libFuzzer targets, fuzz each for $FUZZ_SECONDS
#   bash tools/dev.sh scale   membership at scale (docs/membership.md, "At scale"): sweep every
#                             scenarios/scale/*.json over seeds 1..$SCALE_SEEDS (default
#                             20), then the hidden "[.membership_scale]" simulator tests
#                             (n = 10, 100, 1000). Extra arguments replace the test tag,
#                             e.g. `scale "[membership_scale_100]"`. Slow: ~35 min on 2 cores
#   bash tools/dev.sh storage the storage crash-consistency sweeps (docs/storage.md): every
#                             scenarios/storage-*.json over seeds 1..$STORAGE_SEEDS (default
#                             10000 in all, split evenly), then meshlog and the storage tests
#   bash tools/dev.sh raft    the Raft election-storm sweeps (docs/consensus.md): every
#                             scenarios/raft-*.json over seeds 1..$RAFT_SEEDS (default 10000
#                             in all, split evenly), the [raft] tests, then bench_raft's figures
#   bash tools/dev.sh mutate  mutation harness (docs/testbed-power.md): every mutation in
#                             tools/mutate/catalogue.json against the default sweeps; extra
#                             arguments go to tools/mutate/mutate.py (--only ID, --budget-cpu S,
#                             --report docs/testbed-power.md). Slow: tens of minutes
#   bash tools/dev.sh deb     build the .deb (binaries, systemd unit, man pages, example
#                             config; docs/operator.md, "Your first mesh")
#
# Every sub-command installs what it needs first (idempotent; skipped when all
# packages are already present), so each is the only command needed.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS="${JOBS:-$(nproc)}"
PACKAGES=(cmake ninja-build g++ clang libclang-rt-14-dev pkg-config
          libboost-context-dev libsodium-dev libfmt-dev catch2 librapidcheck-dev
          nlohmann-json3-dev python3 chromium)

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

build() {  # build PRESET
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$JOBS"
}

run_ctest() {  # run_ctest PRESET
  ctest --test-dir "build/$1" -j "$JOBS" --output-on-failure --timeout 600
}

cmd="${1:-}"
shift || true
case "$cmd" in
  demo)
    install_deps
    build default
    # The default scenario: five nodes with skewed, drifting clocks through
    # crashes, restarts, a pause, a backward clock jump and a wipe; the
    # membership oracle (SWIM) and the reachability probe's liveness oracle
    # check every bound. Run twice: the trace hashes must match.
    ./build/default/tools/meshsim run scenarios/crash-restart.json --seed "${SEED:-1}" --check-determinism "$@"
    ;;
  test)
    install_deps
    build default
    run_ctest default
    ;;
  asan)
    install_deps
    build asan
    run_ctest asan
    ;;
  matrix)
    install_deps
    build default
    build clang
    bash tools/lint/determinism_matrix.sh build/default build/clang "$@"
    ;;
  bench)
    install_deps
    build release
    for b in build/release/bench/bench_*; do echo "== $b"; "$b"; done
    ;;
  fuzz)
    install_deps
    build fuzz
    for f in build/fuzz/fuzz/fuzz_*; do
      name=$(basename "$f"); name=${name#fuzz_}
      echo "== $name"
      "$f" -max_total_time="${FUZZ_SECONDS:-60}" "fuzz/corpus/$name"
    done
    ;;
  scale)
    install_deps
    build default
    # Not in CI (the scenarios/*.json glob skips scenarios/scale/): the
    # 100-node scenario sweep prints "membership over N seeds: …"; the
    # tests print "[membership figures] scale …" and assert the bounds.
    # Keeps going after a failure; exits 1 at the end if anything failed.
    failed=0
    for sc in scenarios/scale/*.json; do
      ./build/default/tools/meshsim sweep "$sc" --seeds "1..${SCALE_SEEDS:-20}" --jobs "$JOBS" || failed=1
    done
    ./build/default/meshd_tests "${1:-[.membership_scale]}" || failed=1
    exit "$failed"
    ;;
  storage)
    install_deps
    build default
    # 10,000 seeds over the storage scenarios (the default tests run 500).
    scenarios=(scenarios/storage-*.json)
    per=$(( (${STORAGE_SEEDS:-10000} + ${#scenarios[@]} - 1) / ${#scenarios[@]} ))
    failed=0
    for sc in "${scenarios[@]}"; do
      ./build/default/tools/meshsim sweep "$sc" --seeds "1..$per" --jobs "$JOBS" --require-distinct || failed=1
    done
    ./build/default/meshd_tests "[storage]" || failed=1
    ./build/default/meshd_props "[storage]" || failed=1
    exit "$failed"
    ;;
  raft)
    install_deps
    build default
    # 10,000 seeds over the Raft scenarios (the default tests run 200 each, twice).
    scenarios=(scenarios/raft-*.json)
    per=$(( (${RAFT_SEEDS:-10000} + ${#scenarios[@]} - 1) / ${#scenarios[@]} ))
    failed=0
    for sc in "${scenarios[@]}"; do
      ./build/default/tools/meshsim sweep "$sc" --seeds "1..$per" --jobs "$JOBS" --require-distinct || failed=1
    done
    ./build/default/meshd_tests "[raft]" || failed=1
    ./build/default/bench/bench_raft || failed=1
    exit "$failed"
    ;;
  deb)
    # The .deb (packaging/packaging.cmake): binaries, systemd unit, sysusers,
    # man pages, example config; written to build/default/meshd_*.deb.
    install_deps
    build default
    (cd build/default && cpack -G DEB)
    ;;
  mutate)
    install_deps
    python3 tools/mutate/mutate.py --jobs "$JOBS" "$@"
    ;;
  *)
    sed -n '2,24p' "$0"
    exit 2
    ;;
esac
