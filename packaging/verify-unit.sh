#!/bin/sh
# verify-unit.sh UNIT MESHD_BINARY SCRATCH MAN_DIR: `systemd-analyze verify`
# on the unit with ExecStart pointed at the built binary (the installed path
# does not exist in a build tree) and MANPATH at the built man pages (verify
# checks the Documentation=man: references). Exit 77 (ctest: skipped)
# without systemd-analyze.
set -eu
unit=$1 meshd=$2 scratch=$3 man_dir=$4
command -v systemd-analyze >/dev/null 2>&1 || { echo "systemd-analyze not installed: skipped"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch"
sed "s|/usr/bin/meshd|$meshd|" "$unit" > "$scratch/meshd.service"
mkdir -p "$scratch/man/man8"
cp "$man_dir/meshd.8" "$man_dir/meshctl.8" "$scratch/man/man8/"
out=$(MANPATH="$scratch/man" systemd-analyze verify "$scratch/meshd.service" 2>&1) || { echo "$out"; exit 1; }
# verify reports some problems as warnings with exit 0: none is acceptable
# except about the host's own units and the absent meshd user.
problems=$(printf '%s\n' "$out" | grep -v -e '^$' -e 'Unknown user' -e 'User .* not found' \
  -e '/usr/lib/systemd/system/' -e '/lib/systemd/system/' -e 'Failed to prepare filename' || true)
if [ -n "$problems" ]; then
  printf '%s\n' "$problems"
  exit 1
fi
echo "systemd-analyze verify: ok"
