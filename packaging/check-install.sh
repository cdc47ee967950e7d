#!/bin/sh
# check-install.sh BUILD_DIR SCRATCH: `cmake --install` into a scratch
# prefix (DESTDIR) and check every file the package promises is there and
# that the installed binaries run.
set -eu
build=$1 scratch=$2
rm -rf "$scratch"
DESTDIR="$scratch" cmake --install "$build" --prefix /usr >/dev/null
for f in usr/bin/meshd usr/bin/meshctl usr/bin/meshsim usr/bin/meshlog \
         usr/lib/systemd/system/meshd.service usr/lib/sysusers.d/meshd.conf \
         usr/share/man/man8/meshd.8 usr/share/man/man8/meshctl.8 usr/share/man/man1/meshsim.1 \
         usr/share/man/man1/meshlog.1 usr/share/doc/meshd/operator.md usr/share/doc/meshd/meshd.example.json \
         usr/share/doc/meshd/prometheus-scrape.yml usr/share/doc/meshd/prometheus-alerts.yml \
         etc/meshd/node.json.example; do
  [ -e "$scratch/$f" ] || { echo "missing after install: $f"; exit 1; }
done
"$scratch/usr/bin/meshd" --version
grep -q '^\.TH MESHD 8' "$scratch/usr/share/man/man8/meshd.8" || { echo "meshd.8 is not a man page"; exit 1; }
grep -q 'rotate-key' "$scratch/usr/share/man/man8/meshctl.8" || { echo "meshctl.8 lacks the verbs"; exit 1; }
echo "install: ok"
