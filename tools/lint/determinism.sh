#!/usr/bin/env bash
# Determinism lint for core/ and sim/ (ARCHITECTURE.md, "Determinism rules").
#
# Fails (exit 1) when a banned API or include appears in code that must be
# deterministic: real clocks, threads, global or libc randomness, <random>
# distributions, environment reads, and unordered containers (whose
# iteration order differs between libstdc++ and libc++ and can reach
# behaviour). A line may opt out with a trailing `// lint:allow <reason>`
# when the use provably cannot reach behaviour (say why).
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$root"
patterns=(
  'std::rand\b' '\bsrand\(' '\brand\(\)' 'random_device' '#include <random>'
  'std::[a-z_]+_distribution' 'mt19937' 'default_random_engine'
  'system_clock' 'steady_clock' 'high_resolution_clock' '#include <chrono>'
  'std::thread' 'std::jthread' 'std::async' '#include <thread>' 'pthread_'
  'getenv\(' '\btime\((NULL|nullptr|0)\)' 'gettimeofday' 'clock_gettime'
  'std::unordered_(map|set|multimap|multiset)' '#include <unordered_(map|set)>'
  'getrandom' 'randombytes' '/dev/u?random'
  '#include "io/' '#include <sys/' '#include <unistd.h>' 'epoll'
)
status=0
for p in "${patterns[@]}"; do
  hits=$(grep -rnE --include='*.h' --include='*.cpp' -- "$p" core sim 2>/dev/null \
           | grep -vE '^[^:]+:[0-9]+:\s*//' | grep -v 'lint:allow' || true)
  if [ -n "$hits" ]; then
    echo "determinism lint: banned pattern '$p':"
    printf '%s\n' "$hits" | sed 's/^/  /'
    status=1
  fi
done
# core/ must not include sim/ or io/.
hits=$(grep -rnE '#include "(sim|io)/' core 2>/dev/null || true)
if [ -n "$hits" ]; then
  echo "layering: core/ includes sim/ or io/:"; printf '%s\n' "$hits" | sed 's/^/  /'; status=1
fi
hits=$(grep -rnE '#include "io/' sim 2>/dev/null || true)
if [ -n "$hits" ]; then
  echo "layering: sim/ includes io/:"; printf '%s\n' "$hits" | sed 's/^/  /'; status=1
fi
if [ $status -eq 0 ]; then echo "determinism lint: core/ and sim/ clean"; fi
exit $status
