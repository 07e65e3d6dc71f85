#!/usr/bin/env bash
# Installs the Debian packages hakit's lab, daemon and tests need, when any is missing.
# Idempotent and quiet when everything is there. Used by `npm test`, `npm run demo` and .ci/run.
set -euo pipefail

# command-or-file to look for -> Debian package that provides it
declare -A NEEDS=(
  [nft]=nftables
  [ip]=iproute2
  [tc]=iproute2
  [arping]=iputils-arping
  [ping]=iputils-ping
  [mount]=mount
  [umount]=mount
  [nsenter]=util-linux
  [unshare]=util-linux
  [cc]=gcc
  [pgrep]=procps
  [sysctl]=procps
  [bridge]=iproute2
  [curl]=curl
  # The lab loads the fuse module when /sys/fs/fuse/connections is missing (test/lab/make.ts).
  [modprobe]=kmod
  # Tests that drop privileges, serialise on a lock file, write to syslog.
  [setpriv]=util-linux
  [flock]=util-linux
  [logger]=bsdutils
  # Scripted peers and applications in tests: raw UDP replays of the hostile suite
  # (test/hostile/), sync-call probes of the mirror tests, a syslog receiver (test/checkers/).
  [python3]=python3
  # The Debian package (npm run package) and its tests (test/installers/).
  [systemd-analyze]=systemd
  [strip]=binutils
  [xz]=xz-utils
  [groupadd]=passwd
  # A real database on the mirror (test/mirror/postgres.test.ts) and the mirror bench's pgbench.
  [pg_ctlcluster]=postgresql
  # The mirror bench's FUSE floor: a C passthrough without replication (test/bench/fuse-floor.ts).
  [bindfs]=bindfs
  # The web console's browser tests (test/console/): Debian's own build, no browser download.
  [chromium]=chromium
  # The API's cluster CA and node certificates (core/api/tls/).
  [openssl]=openssl
)

missing=()
for need in "${!NEEDS[@]}"; do
  if [[ "$need" == /* ]]; then
    # A library: accept it under any multiarch directory.
    base=$(basename "$need")
    ls /usr/lib/*/"$base" /lib/*/"$base" >/dev/null 2>&1 || missing+=("${NEEDS[$need]}")
  else
    command -v "$need" >/dev/null 2>&1 || missing+=("${NEEDS[$need]}")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

mapfile -t unique < <(printf '%s\n' "${missing[@]}" | sort -u)
if [ "$(id -u)" != 0 ]; then
  echo "hakit: missing system packages: ${unique[*]}; run as root or: apt-get install ${unique[*]}" >&2
  exit 1
fi
echo "hakit: installing system packages: ${unique[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${unique[@]}" >/dev/null
