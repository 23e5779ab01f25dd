#!/usr/bin/env bash
# Builds TVL's own FFmpeg: decode-only, LGPL (nothing under the GPL), static and position-independent,
# with dav1d for AV1, from Debian's source packages, inside a Debian 11 chroot so that addons linked
# against it load on glibc 2.31 and newer. The result is cached by its inputs (this script, the
# source versions) and linked at packages/native-common/ffmpeg, where the addons' builds find it.
#   toolchain/ffmpeg.sh            build (or reuse) and link it; prints the prefix
source "$(dirname "$0")/common.sh"
need_root "make ffmpeg"

BUILD_SUITE=bullseye
BUILD_PACKAGES=(gcc g++ make pkg-config nasm meson ninja-build python3)

# What TVL reads and decodes. Audio is demuxed past, never decoded.
DEMUXERS=mov,matroska,avi,mpegts,mpegps,mpegvideo,m4v,flv,ivf,obu,h264,hevc,mjpeg,yuv4mpegpipe
DECODERS=h264,hevc,vp8,vp9,libdav1d,av1,mpeg4,mpeg2video,mpeg1video,h263,mjpeg,prores,rawvideo
PARSERS=h264,hevc,vp8,vp9,av1,mpeg4video,mpegvideo,h263,mjpeg
BSFS=h264_mp4toannexb,hevc_mp4toannexb,vp9_superframe_split,av1_frame_split,extract_extradata,mpeg4_unpack_bframes,null
HWACCELS=h264_nvdec,hevc_nvdec,vp8_nvdec,vp9_nvdec,av1_nvdec,mpeg1_nvdec,mpeg2_nvdec,mpeg4_nvdec,mjpeg_nvdec

ffmpeg_src=$("$TOOLCHAIN_DIR/debian-source.sh" ffmpeg)
dav1d_src=$("$TOOLCHAIN_DIR/debian-source.sh" dav1d)
ffnvcodec_inc=$(pkg-config --variable=includedir ffnvcodec 2>/dev/null || true)
[ -f "$ffnvcodec_inc/ffnvcodec/dynlink_cuviddec.h" ] || die "NVIDIA codec headers missing: apt-get install libffmpeg-nvenc-dev"

# The build, run inside the chroot. It is also the cache key: comments here change nothing.
build_script=$(cat <<SH
set -euo pipefail
export PKG_CONFIG_PATH=/opt/tvl-ffmpeg/lib/pkgconfig
cd /build/dav1d
meson setup out --prefix=/opt/tvl-ffmpeg --libdir=lib --buildtype=release --default-library=static \
  -Db_staticpic=true -Denable_tools=false -Denable_tests=false -Denable_examples=false
ninja -C out install
cd /build/ffmpeg
./configure --prefix=/opt/tvl-ffmpeg --pkg-config-flags=--static \
  --enable-pic --enable-static --disable-shared --disable-debug --disable-doc --disable-programs \
  --disable-network --disable-autodetect --disable-everything \
  --disable-avdevice --disable-avfilter --disable-postproc --disable-swresample \
  --enable-protocol=file --enable-demuxer=$DEMUXERS --enable-decoder=$DECODERS \
  --enable-parser=$PARSERS --enable-bsf=$BSFS \
  --enable-libdav1d --enable-ffnvcodec --enable-nvdec --enable-hwaccel=$HWACCELS \
  --extra-version=tvl
make -j\$(nproc)
make install
SH
)
# Bump when what is done with the build output below changes.
PACKAGING_REVISION=1
key=$(inputs_key "$build_script" "packaging $PACKAGING_REVISION" "$(basename "$ffmpeg_src")" "$(basename "$(ls "$ffmpeg_src"/.tvl-unpacked-*)")" \
  "$(basename "$dav1d_src")" "$(basename "$(ls "$dav1d_src"/.tvl-unpacked-*)")" "$ffnvcodec_inc/ffnvcodec/dynlink_cuviddec.h" "$BUILD_SUITE")
prefix="$TVL_CACHE_DIR/ffmpeg/$key"
link="$REPO_ROOT/packages/native-common/ffmpeg"

if [ ! -f "$prefix/.tvl-complete" ]; then
  root=$("$TOOLCHAIN_DIR/chroot.sh" "$BUILD_SUITE" "${BUILD_PACKAGES[@]}")
  log "building FFmpeg $(basename "$ffmpeg_src") + dav1d $(basename "$dav1d_src") in $BUILD_SUITE ($key)"
  rm -rf "$root/build" "$root/opt/tvl-ffmpeg"
  mkdir -p "$root/build" "$root/opt/tvl-ffmpeg/include"
  cp -a "$ffmpeg_src" "$root/build/ffmpeg"
  cp -a "$dav1d_src" "$root/build/dav1d"
  # The NVIDIA headers only declare what FFmpeg loads at run time; the host's copy is newer (AV1).
  cp -a "$ffnvcodec_inc/ffnvcodec" "$root/opt/tvl-ffmpeg/include/"
  mkdir -p "$root/opt/tvl-ffmpeg/lib/pkgconfig"
  cat >"$root/opt/tvl-ffmpeg/lib/pkgconfig/ffnvcodec.pc" <<PC
prefix=/opt/tvl-ffmpeg
includedir=\${prefix}/include
Name: ffnvcodec
Description: FFmpeg version of Nvidia Codec SDK headers
Version: $(pkg-config --modversion ffnvcodec)
Cflags: -I\${includedir}
PC
  printf '%s\n' "$build_script" >"$root/build/build.sh"
  in_chroot "$root" bash /build/build.sh >"$TVL_CACHE_DIR/ffmpeg-build.log" 2>&1 \
    || { tail -30 "$TVL_CACHE_DIR/ffmpeg-build.log" >&2; die "FFmpeg build failed (log: $TVL_CACHE_DIR/ffmpeg-build.log)"; }
  grep -E '^(threading support|License:)' "$TVL_CACHE_DIR/ffmpeg-build.log" >&2 || true
  rm -rf "$prefix"; mkdir -p "$(dirname "$prefix")"
  cp -a "$root/opt/tvl-ffmpeg" "$prefix"
  rm -rf "$root/build" "$root/opt/tvl-ffmpeg"
  # The .pc files name the chroot's prefix; make them relative to wherever the prefix lies.
  sed -i 's|/opt/tvl-ffmpeg|${pcfiledir}/../..|g' "$prefix"/lib/pkgconfig/*.pc
  cp "$ffmpeg_src/COPYING.LGPLv2.1" "$prefix/COPYING.LGPLv2.1"
  cp "$dav1d_src/COPYING" "$prefix/COPYING.dav1d"
  basename "$(basename "$(ls "$ffmpeg_src"/.tvl-unpacked-*)")" | sed 's/^.tvl-unpacked-//' >"$prefix/VERSION.ffmpeg"
  basename "$(basename "$(ls "$dav1d_src"/.tvl-unpacked-*)")" | sed 's/^.tvl-unpacked-//' >"$prefix/VERSION.dav1d"
  touch "$prefix/.tvl-complete"
fi
ln -sfn "$prefix" "$link"
printf '%s\n' "$prefix"
