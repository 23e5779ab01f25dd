#!/usr/bin/env bash
# Builds the addons that ship prebuilt in the tarballs, each inside the oldest Debian it must load
# on, so no user ever compiles anything:
#   @tvl/libav, @tvl/nvdec, @tvl/nvvl   Debian 11 (glibc 2.31), TVL's FFmpeg linked in statically
#   @tvl/opencv                         once per OpenCV that Debian 11, 12 and 13 ship (4.5, 4.6,
#                                       4.10), each in its own release: it links the system's OpenCV
# Writes packages/<name>/prebuilds/linux-x64/tvl_<name>[.opencvX.Y].node.
#   toolchain/prebuilds.sh [PACKAGE...]      default: libav nvdec nvvl opencv
source "$(dirname "$0")/common.sh"
need_root "make prebuilds"
require_mounts "make prebuilds"

BUILD_PACKAGES=(g++ make python3 pkg-config)
OPENCV_PACKAGES=(libopencv-core-dev libopencv-imgproc-dev libopencv-videoio-dev)
OPENCV_SUITES=(bullseye bookworm trixie)
GLIBC_FLOOR=2.31

"$TOOLCHAIN_DIR/ffmpeg.sh" >/dev/null
ffmpeg_prefix=$(readlink -f "$REPO_ROOT/packages/native-common/ffmpeg")
node_bin=$(command -v node)
node_prefix=$(cd "$(dirname "$node_bin")/.." && pwd)
[ -f "$node_prefix/include/node/node_api.h" ] || die "Node's headers are not next to $node_bin"

trap unmount_all EXIT

# Makes the repository and TVL's FFmpeg visible inside a chroot at the same paths as here.
share_into() {
  local root=$1 dir
  for dir in "$REPO_ROOT" "$ffmpeg_prefix"; do mount_into "$root$dir" --bind "$dir"; done
  # Node and its headers, for node-gyp.
  carry_node "$root"
  rm -rf "$root/usr/local/include/node"; mkdir -p "$root/usr/local/include"
  cp -a "$node_prefix/include/node" "$root/usr/local/include/node"
}

# The addons carry FFmpeg (LGPL 2.1+) and dav1d (BSD): their licences and where the source is.
ship_licences() {
  cp "$ffmpeg_prefix"/COPYING.* "$1/"
  cat >"$1/NOTICE" <<TXT
The .node files here contain, linked statically, FFmpeg $(cat "$ffmpeg_prefix/VERSION.ffmpeg") (LGPL 2.1 or later,
COPYING.LGPLv2.1) and dav1d $(cat "$ffmpeg_prefix/VERSION.dav1d") (BSD 2-clause, COPYING.dav1d), built from
Debian's source packages of those versions, unmodified, by toolchain/ffmpeg.sh in the TVL repository
(decode-only configuration, no GPL parts). Rebuild them with another FFmpeg by building TVL from source.
TXT
}

newest_glibc() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1; }

# build SUITE PACKAGE OUTPUT_NAME [APT_PACKAGE...]
build() {
  local suite=$1 pkg=$2 out_name=$3; shift 3
  local root work out
  root=$("$TOOLCHAIN_DIR/chroot.sh" "$suite" "${BUILD_PACKAGES[@]}" "$@")
  share_into "$root"
  work=/tmp/prebuild/$pkg
  rm -rf "$root$work"; mkdir -p "$root$work"
  (cd "$REPO_ROOT/packages/$pkg" && tar cf - --exclude=./native/build --exclude=./dist --exclude=./node_modules \
     --exclude=./prebuilds --exclude=./test .) | tar xf - -C "$root$work"
  ln -s "$REPO_ROOT/packages/$pkg/node_modules" "$root$work/node_modules"
  log "building $out_name in $suite"
  in_chroot "$root" npm_config_nodedir=/usr/local bash -c "cd $work && node $REPO_ROOT/packages/native-common/bin/tvl-node-gyp.cjs rebuild --directory native" \
    >"$TVL_CACHE_DIR/prebuild-$out_name.log" 2>&1 \
    || { tail -30 "$TVL_CACHE_DIR/prebuild-$out_name.log" >&2; die "$out_name: build failed in $suite"; }
  out="$REPO_ROOT/packages/$pkg/prebuilds/linux-x64/$out_name.node"
  mkdir -p "$(dirname "$out")"
  ship_licences "$(dirname "$out")"
  strip --strip-unneeded -o "$out" "$root$work/native/build/Release/tvl_$pkg.node"
  rm -rf "$root$work"
  # What it needs must not exceed the floor (or, for an addon tied to one release's OpenCV, that release).
  local glibc floor=$GLIBC_FLOOR
  glibc=$(newest_glibc "$out")
  [ "$pkg" != opencv ] || floor=$(in_chroot "$root" dpkg-query -W -f='${Version}' libc6 | cut -d- -f1)
  if [ "$(printf '%s\n%s\n' "${glibc#GLIBC_}" "$floor" | sort -V | tail -1)" != "$floor" ]; then
    die "$out needs $glibc, newer than the floor $floor"
  fi
  log "$out_name: $(du -k "$out" | cut -f1) KiB, needs $glibc"
}

packages=("$@"); [ ${#packages[@]} -gt 0 ] || packages=(libav nvdec nvvl opencv)
for pkg in "${packages[@]}"; do
  case $pkg in
    libav|nvdec|nvvl)
      rm -rf "$REPO_ROOT/packages/$pkg/prebuilds"
      build bullseye "$pkg" "tvl_$pkg" ;;
    opencv)
      rm -rf "$REPO_ROOT/packages/opencv/prebuilds"
      for suite in "${OPENCV_SUITES[@]}"; do
        root=$("$TOOLCHAIN_DIR/chroot.sh" "$suite" "${BUILD_PACKAGES[@]}" "${OPENCV_PACKAGES[@]}")
        version=$(in_chroot "$root" dpkg-query -W -f='${Version}' libopencv-core-dev | sed -E 's/^([0-9]+:)?([0-9]+\.[0-9]+).*/\2/')
        build "$suite" opencv "tvl_opencv.opencv$version" "${OPENCV_PACKAGES[@]}"
      done ;;
    *) die "unknown package $pkg (libav, nvdec, nvvl, opencv)" ;;
  esac
done
