#!/bin/sh
# Rebuilds sql/seed/sepomex-subset.txt, the demo/test subset of the SEPOMEX
# catalog, from the official export. Not part of the build: the subset is
# committed. See sql/seed/README.md for provenance and licence.
#
# Usage: sql/seed/make-subset.sh CPdescargatxt.zip [OUTPUT]
#   CPdescargatxt.zip: the official SEPOMEX zip (Correos de México), given as
#   the first argument; default output: sql/seed/sepomex-subset.txt
#
# The output keeps the official format byte for byte: ISO-8859-1, CRLF, line 1
# the legal notice, line 2 the header, then every row of the postal codes
# listed below (awk runs in the C locale, so bytes and the CR are untouched).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
zip=${1:?usage: make-subset.sh CPdescargatxt.zip [OUTPUT] (the official SEPOMEX zip)}
out=${2:-$here/sepomex-subset.txt}

# Hand-picked postal codes: 06700 (Roma Norte), 44100 (Guadalajara Centro),
# 64000 (Monterrey Centro, La Finca); for each of the 32 states the centre of
# the capital and one more CP of the capital; a few large cities and
# university areas (04510 Ciudad Universitaria). No CP with hundreds of
# asentamientos, so the subset stays small.
cps="
06700 44100 64000
20000 20100 21000 21100 22000 23000 23050 24000 24010 25000 25010 28000 28010
29000 29010 31000 31020 32000 06000 06600 03100 04510 11560 01000 07300 34000
34010 36000 37000 39000 39300 42000 42020 50000 50010 55000 57000 53000 58000
58010 62000 62010 63000 63010 68000 68010 72000 72570 76000 76010 77000 77500
78000 78200 80000 80010 83000 83010 86000 86010 87000 87010 90000 90010 91000
91010 91700 97000 97070 98000 98010 45010 44600 66220
"

unzip -p "$zip" CPdescarga.txt | LC_ALL=C awk -v cps="$cps" '
    BEGIN { n = split(cps, a, /[ \n]+/); for (i = 1; i <= n; i++) if (a[i] != "") want[a[i]] = 1 }
    NR <= 2 { print; next }
    { split($0, f, "|"); if (f[1] in want) print }
' >"$out.tmp"
rows=$(($(wc -l <"$out.tmp") - 2))
if [ "$rows" -gt 1000 ]; then
    echo "make-subset.sh: $rows rows, more than 1000" >&2
    rm -f "$out.tmp"
    exit 1
fi
mv "$out.tmp" "$out"
echo "make-subset.sh: $rows rows written to $out" >&2
