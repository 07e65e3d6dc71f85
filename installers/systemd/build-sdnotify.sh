#!/usr/bin/env bash
# Part of `npm run build`: compiles the systemd notify helper (hakit-sdnotify.c) into
# dist/bin/, where hakitd and hakit-witness look for it and the Debian package takes it from.
# cc is one of the packages installers/ensure-system-packages.sh ensures.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../dist/bin"
mkdir -p "$out"
tmp="$out/.hakit-sdnotify.$$"
cc -O2 -Wall -Wextra -Werror -o "$tmp" "$here/hakit-sdnotify.c"
mv -f "$tmp" "$out/hakit-sdnotify"
