#!/usr/bin/env bash
# Build the Debian package libapache2-mod-afiliate from this tree and check it
# with lintian. Usage: scripts/deb.sh OUT.deb   (the Makefile's `make deb`)
#
# dpkg-buildpackage cleans the tree it builds in (debian/rules clean runs
# `make clean`) and writes its results into the parent folder, so it runs on a
# copy under build/deb/: the checkout's own build/ (and any apache2 the tests
# run from it) is left alone, and nothing is written outside the checkout.
# The version comes from debian/changelog. Fails when lintian reports an error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/deb.sh OUT.deb}
work="$top/build/deb"
src="$work/libapache2-mod-afiliate"

rm -rf "$work"
mkdir -p "$src"
tar -C "$top" -cf - --exclude=./build --exclude=./var --exclude=./tests/gen \
    --exclude=./tests/out --exclude=node_modules --exclude=.git --exclude=__pycache__ \
    --exclude=.libs --exclude='*.lo' --exclude='*.slo' --exclude='*.la' . \
  | tar -C "$src" -xf -

echo "deb: dpkg-buildpackage (log: build/deb/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log"
  echo "deb: dpkg-buildpackage failed"
  exit 1
fi
changes=$(ls "$work"/libapache2-mod-afiliate_*.changes)
deb=$(ls "$work"/libapache2-mod-afiliate_*.deb)

echo "deb: lintian"
# Root is how `make` runs here; lintian only needs to read the files.
lintian --fail-on error --display-info "$changes" 2>&1 | tee "$work/lintian.log" \
  || { echo "deb: lintian reports errors"; exit 1; }

rm -rf "$src"
cp "$deb" "$out.tmp" && mv -f "$out.tmp" "$out"
echo "deb: $out"
