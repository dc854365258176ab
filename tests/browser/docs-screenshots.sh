#!/usr/bin/env bash
# Copy a few of the browser tests' screenshots (tests/out/screenshots, made by
# `make test-browser`) into docs/screenshots/ for the README, squeezed with
# pngquant when it is installed (Debian package pngquant) to stay small.
# Usage: tests/browser/docs-screenshots.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
src="$top/tests/out/screenshots"
dst="$top/docs/screenshots"
pick=(desktop-01-inicio desktop-03-formulario-errores desktop-05-domicilio-lleno
      desktop-06-resultado-asignado phone-02-formulario phone-05-domicilio-lleno
      phone-06-resultado-asignado)
mkdir -p "$dst"
for name in "${pick[@]}"; do
  [ -f "$src/$name.png" ] || { echo "missing $src/$name.png: run make test-browser" >&2; exit 1; }
  if command -v pngquant >/dev/null 2>&1; then
    pngquant --force --skip-if-larger --strip --quality 70-95 --output "$dst/$name.png" "$src/$name.png" \
      || cp "$src/$name.png" "$dst/$name.png"
  else
    cp "$src/$name.png" "$dst/$name.png"
  fi
  printf '%-45s %6d bytes\n' "docs/screenshots/$name.png" "$(stat -c %s "$dst/$name.png")"
done
