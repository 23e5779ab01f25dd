#!/usr/bin/env bash
# Makes (once) a minimal Debian system in the cache and installs packages into it.
#   toolchain/chroot.sh [--name NAME] SUITE [PACKAGE...]     prints the chroot's path
# SUITE is bullseye (Debian 11, glibc 2.31), bookworm (12) or trixie (13). Made with debootstrap
# from the mirror this machine's apt uses; packages come from the same mirror. NAME (default: the
# suite) keeps apart chroots of one suite made for different purposes.
source "$(dirname "$0")/common.sh"
need_root "toolchain/chroot.sh"
name=
if [ "${1:-}" = --name ]; then name=$2; shift 2; fi
suite=${1:?usage: toolchain/chroot.sh [--name NAME] SUITE [PACKAGE...]}; shift
root="$TVL_CACHE_DIR/chroots/${name:-$suite}"

if [ ! -f "$root/.tvl-bootstrapped" ]; then
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  rm -rf "$root"; mkdir -p "$root"
  log "debootstrap $suite (minbase) into $root"
  debootstrap --variant=minbase "$suite" "$root" "$(debian_mirror)" >"$root.debootstrap.log" 2>&1 \
    || { tail -20 "$root.debootstrap.log" >&2; die "debootstrap $suite failed (log: $root.debootstrap.log)"; }
  touch "$root/.tvl-bootstrapped"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

missing=()
for p in "$@"; do
  in_chroot "$root" dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "$suite: installing ${missing[*]}"
  { in_chroot "$root" apt-get update -qq && \
    in_chroot "$root" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$root.apt.log" 2>&1 \
    || { tail -20 "$root.apt.log" >&2; die "$suite: apt-get install failed (log: $root.apt.log)"; }
fi
printf '%s\n' "$root"
