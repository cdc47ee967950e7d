#!/bin/sh
# gen-man.sh BINARY NAME SECTION OUT: a man page from `BINARY --help` and
# `BINARY --version` (the help text is the one source of truth; every verb's
# --help is appended). Used by the build (CMakeLists.txt, man pages).
set -eu
bin=$1 name=$2 section=$3 out=$4
shift 4
version=$("$bin" --version)
{
  echo ".TH $(echo "$name" | tr a-z A-Z) $section \"\" \"$version\" \"meshd manual\""
  echo ".SH NAME"
  echo "$name \\- $(sed -n "s/^$name	//p" "$(dirname "$0")/man-summaries.txt")"
  echo ".SH SYNOPSIS AND OPTIONS"
  echo ".nf"
  "$bin" --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo ".fi"
  for verb in "$@"; do
    echo ".SS $name $verb"
    echo ".nf"
    "$bin" $verb --help | sed 's/\\/\\\\/g; s/^\./\\\&./'
    echo ".fi"
  done
  echo ".SH SEE ALSO"
  echo "meshd(8), meshctl(8), meshsim(1), meshlog(1); /usr/share/doc/meshd/operator.md"
  echo ".SH VERSION"
  echo "$version"
} > "$out"
