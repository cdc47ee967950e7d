#!/bin/sh
# verify-unit.sh UNIT MESHD_BINARY SCRATCH: `systemd-analyze verify` on the
# unit with ExecStart pointed at the built binary (the installed path does
# not exist in a build tree). Exit 77 (ctest: skipped) without systemd-analyze.
set -eu
unit=$1 meshd=$2 scratch=$3
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not installed: skipped"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch"
sed "s|/usr/bin/meshd|$meshd|" "$unit" > "$scratch/meshd.service"
out=$(systemd-analyze verify "$scratch/meshd.service" 2>&1) || { echo "$out"; exit 1; }
# verify reports some problems as warnings with exit 0: none are acceptable
# except for the host's own units and the absent meshd user/man pages.
problems=$(printf '%s\n' "$out" | grep -v -e '^$' -e 'man:' -e 'Unknown user' -e 'User .* not found' \
  -e '/usr/lib/systemd/system/' -e '/lib/systemd/system/' -e 'Failed to prepare filename' || true)
if [ -n "$problems" ]; then
  printf '%s\n' "$problems"
  exit 1
fi
echo "systemd-analyze verify: ok"
