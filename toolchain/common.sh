# Shared by the toolchain scripts (sourced, not run). Everything they make lives in one cache
# directory outside the repository, keyed by its inputs, so a clean clone reuses it.
set -euo pipefail

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TOOLCHAIN_DIR/.." && pwd)"
TVL_CACHE_DIR="${TVL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tvl}"
mkdir -p "$TVL_CACHE_DIR"

log() { printf '[tvl %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 needs root (debootstrap and chroot); run it with sudo"
}

# Bind mounts and /proc inside chroots. Where this machine cannot mount (a container without the
# right), say so and stop; with TVL_PORTABILITY_OPTIONAL set (CI), stop without failing.
require_mounts() {
  local probe; probe=$(mktemp -d)
  if mount --bind "$probe" "$probe" 2>/dev/null; then umount "$probe"; rmdir "$probe"; return 0; fi
  rmdir "$probe"
  if [ -n "${TVL_PORTABILITY_OPTIONAL:-}" ]; then log "$1: skipped, this machine cannot mount"; exit 0; fi
  die "$1 mounts inside chroots (bind mounts, /proc): run it as root, outside a restricted container"
}

# Mounts into a chroot, remembered so that unmount_all (run it on EXIT) undoes every one.
#   mount_into TARGET mount-args...     e.g. mount_into "$root/dist" --bind "$REPO_ROOT/dist"
TVL_MOUNTS=()
mount_into() {
  local target=$1; shift
  mkdir -p "$target"
  mountpoint -q "$target" && return 0
  mount "$@" "$target"
  TVL_MOUNTS+=("$target")
}
unmount_all() {
  local m
  for m in "${TVL_MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
  TVL_MOUNTS=()
}

# Carries this machine's Node (Node 20 needs glibc 2.28) into a chroot, as /usr/local/bin/node.
carry_node() {
  install -D -m 755 "$(command -v node)" "$1/usr/local/bin/node"
}

# The Debian mirror this machine already uses (never written into the repository).
debian_mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
      /etc/apt/sources.list 2>/dev/null || true)
  fi
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
  printf '%s\n' "$uri"
}

# A short digest of files and strings: the key of a cached build.
inputs_key() {
  { for arg in "$@"; do if [ -f "$arg" ]; then cat "$arg"; else printf '%s\n' "$arg"; fi; done; } | sha256sum | cut -c1-16
}

# Runs a command inside a chroot with a clean environment.
in_chroot() {
  local root=$1; shift
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
