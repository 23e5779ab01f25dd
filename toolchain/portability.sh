#!/usr/bin/env bash
# Proves the tarballs in dist/ install and work where TVL was not built: for Debian 11, 12 and
# 13, a bare minbase system (no FFmpeg, no compiler, no Python) with only Node 20 carried in,
#   - `npm i` of the tarballs exits 0 and compiles nothing;
#   - @tvl/libav decodes a clip of every codec exactly (toolchain/portability-check.mjs);
#   - the `tvl` CLI runs;
#   - @tvl/opencv, before OpenCV is installed, fails with TVL_NATIVE_LOAD_FAILED naming what to
#     install; after `apt-get install libopencv-videoio<version>`, it decodes exactly too (or
#     refuses, with TVL_UNSUPPORTED_CODEC, what that OpenCV is known to decode wrongly).
# Prints one line per check and "N passed, N failed"; exits non-zero when any failed.
#   toolchain/portability.sh [--libav-only] [SUITE...]      default: bullseye bookworm trixie
# --libav-only: only @tvl/libav and the CLI (CI's slice; dist/ may then hold just core, libav, cli).
# TVL_PORTABILITY_KEEP=1 keeps each system afterwards (its path is printed), to look around in.
source "$(dirname "$0")/common.sh"
need_root "make portability"

libav_only=
if [ "${1:-}" = --libav-only ]; then libav_only=1; shift; fi
suites=("$@"); [ ${#suites[@]} -gt 0 ] || suites=(bullseye bookworm trixie)
declare -A OPENCV_PACKAGE=([bullseye]=libopencv-videoio4.5 [bookworm]=libopencv-videoio406 [trixie]=libopencv-videoio410)
TFJS_VERSION=4.22.0

require_mounts "make portability"

shopt -s nullglob
tarballs=("$REPO_ROOT"/dist/*.tgz)
[ ${#tarballs[@]} -gt 0 ] || die "no tarballs in dist/: run make dist"
media="$TVL_CACHE_DIR/portability-media"
node "$TOOLCHAIN_DIR/portability-media.mjs" "$media" >&2
registry=$(npm config get registry)
# The certificate authorities this machine's npm trusts (a proxy's, say) go along with it.
ca_file=$(npm config get cafile 2>/dev/null || true)
[ -f "$ca_file" ] || ca_file=${NODE_EXTRA_CA_CERTS:-}
npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...   (the command's output is shown only when it fails)
  local what=$1 output; shift
  if output=$("$@" 2>&1); then
    passed=$((passed + 1)); printf 'ok %s\n' "$what"
    printf '%s\n' "$output" | grep -E '^(ok|FAIL) ' | sed "s/^/    /" || true
  else
    failed=$((failed + 1)); printf 'FAIL %s\n' "$what"; printf '%s\n' "$output" | tail -25 | sed 's/^/    /'
  fi
}

scratch=
cleanup() {
  unmount_all
  [ -n "$scratch" ] || return 0
  # Never delete through a mount that is still there (it would reach dist/ or the media).
  if grep -q " $scratch/" /proc/mounts; then log "left $scratch in place: something is still mounted in it"; return 0; fi
  rm -rf --one-file-system "$scratch"
}
trap cleanup EXIT

for suite in "${suites[@]}"; do
  bare=$("$TOOLCHAIN_DIR/chroot.sh" --name "bare-$suite" "$suite")
  scratch=$(mktemp -d "$TVL_CACHE_DIR/portability.XXXXXX")
  root="$scratch/root"
  cp -a "$bare" "$root"
  # Node 20 and npm, as a user would have them; nothing else comes from this machine.
  carry_node "$root"
  mkdir -p "$root/usr/local/lib/node_modules" && cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  for tool in npm npx; do
    printf '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/%s-cli.js "$@"\n' "$tool" >"$root/usr/local/bin/$tool"
    chmod 755 "$root/usr/local/bin/$tool"
  done
  mount_into "$root/proc" -t proc proc
  mount_into "$root/dist" --bind "$REPO_ROOT/dist"
  mount_into "$root/media" --bind "$media"
  mkdir -p "$root/app"; cp "$TOOLCHAIN_DIR/portability-check.mjs" "$root/app/"
  network_env=()
  if [ -f "$ca_file" ]; then
    cp "$ca_file" "$root/etc/tvl-npm-ca.crt"; network_env+=(NODE_EXTRA_CA_CERTS=/etc/tvl-npm-ca.crt)
  fi
  for v in HTTPS_PROXY https_proxy HTTP_PROXY http_proxy NO_PROXY no_proxy; do
    [ -z "${!v:-}" ] || network_env+=("$v=${!v}")
  done
  run() { in_chroot "$root" "${network_env[@]}" bash -c "cd /app && $1"; }

  check "$suite: no FFmpeg, compiler or Python in the system" \
    run '! ldconfig -p | grep -q libavcodec && ! command -v cc && ! command -v c++ && ! command -v python3'
  check "$suite: npm i of the tarballs exits 0" \
    run "echo '{\"type\":\"module\",\"private\":true}' >package.json && npm i --no-audit --no-fund --registry '$registry' \
         /dist/*.tgz @tensorflow/tfjs-core@$TFJS_VERSION @tensorflow/tfjs-backend-cpu@$TFJS_VERSION"
  check "$suite: nothing was compiled at install" \
    run '! find node_modules -path "*/build/Release/*.node" | grep -q .'
  check "$suite: @tvl/libav decodes every codec exactly" run 'node portability-check.mjs /media libav'
  check "$suite: the tvl CLI runs" \
    run "npx tvl info /media/0.mp4 --json | node -e 'const s = JSON.parse(require(\"fs\").readFileSync(0)); if (!(s.nFrames > 0)) process.exit(1); console.log(\"ok cli: \" + s.nFrames + \" frames\")'"
  if [ -z "$libav_only" ]; then
    check "$suite: @tvl/opencv without OpenCV names what to install" \
      run 'node portability-check.mjs /media opencv --expect-load-failure'
    check "$suite: apt-get install ${OPENCV_PACKAGE[$suite]}" \
      run "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${OPENCV_PACKAGE[$suite]}"
    check "$suite: @tvl/opencv decodes every codec exactly with the system's OpenCV" \
      run 'node portability-check.mjs /media opencv --allow-refusal'
    check "$suite: @tvl/libav still exact next to the system's FFmpeg (OpenCV's)" \
      run 'node portability-check.mjs /media libav'
  fi
  if [ -n "${TVL_PORTABILITY_KEEP:-}" ]; then
    log "kept $root (TVL_PORTABILITY_KEEP): chroot $root bash"
    scratch=
  fi
  cleanup
  scratch=
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
