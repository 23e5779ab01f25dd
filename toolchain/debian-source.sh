#!/usr/bin/env bash
# Fetches and unpacks a Debian source package (Debian's patches applied) into the cache, from the
# deb-src twin of this machine's own apt sources, with a private apt state (the system's apt
# configuration is not touched).
#   toolchain/debian-source.sh PACKAGE     prints the unpacked source directory
source "$(dirname "$0")/common.sh"
pkg=${1:?usage: toolchain/debian-source.sh PACKAGE}
apt_dir="$TVL_CACHE_DIR/apt-src"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$TVL_CACHE_DIR/sources"

if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$apt_dir/sources.list.d/deb-src.sources"
else
  grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"$apt_dir/sources.list.d/deb-src.list"
fi
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
          -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root")

if ! find "$apt_dir/lists" -name '*Sources*' -mmin -1440 2>/dev/null | grep -q .; then
  log "apt-get update (deb-src)"
  apt-get "${apt_opts[@]}" update -qq >&2
fi
version=$(apt-cache "${apt_opts[@]}" showsrc "$pkg" | awk '/^Version:/ { print $2 }' | sort -V | tail -1)
[ -n "$version" ] || die "no source package $pkg on the mirror"
upstream=${version#*:}; upstream=${upstream%-*}
dir="$TVL_CACHE_DIR/sources/$pkg-$upstream"
if [ ! -f "$dir/.tvl-unpacked-$version" ]; then
  log "apt-get source $pkg=$version"
  work=$(mktemp -d "$TVL_CACHE_DIR/sources/.fetch.XXXXXX")
  (cd "$work" && apt-get "${apt_opts[@]}" source -qq "$pkg=$version" >&2)
  rm -rf "$dir"
  mv "$work/$pkg-$upstream" "$dir"
  rm -rf "$work"
  touch "$dir/.tvl-unpacked-$version"
fi
printf '%s\n' "$dir"
