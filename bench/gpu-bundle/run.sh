#!/usr/bin/env bash
# On the GPU machine: unpack the bundle made by pack.mjs and run the GPU check.
#   bash .gpu-check/run.sh [--self-test] [--json out.json]
# Runs Node through the carried glibc loader, with the carried libraries first and the NVIDIA
# driver's directory (found with ldconfig) after them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${TVL_GPU_CHECK_DIR:-/tmp/tvl-gpu-check}
mkdir -p "$dest"
# Unpacked once per bundle: a copy from an older bundle is replaced, never run.
stamp=$(cat "$here/node.xz" "$here/bundle.tar.xz" | cksum)
if [ "$(cat "$dest/.bundle" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$dest/node" "$dest/app" "$dest/clips" "$dest/lib" "$dest/.bundle"
  xz -dc "$here/node.xz" > "$dest/node"
  chmod +x "$dest/node"
  tar -C "$dest" -xJf "$here/bundle.tar.xz"
  echo "$stamp" > "$dest/.bundle"
fi
driver=$(ldconfig -p | awk '/libcuda\.so\.1 / {print $NF; exit}')
libpath="$dest/lib"
[ -n "$driver" ] && libpath="$libpath:$(dirname "$driver")"
[ -d /usr/local/nvidia/lib64 ] && libpath="$libpath:/usr/local/nvidia/lib64"
echo "driver: ${driver:-not found by ldconfig}"
cd "$dest/app"
# Decode calls run on libuv's thread pool (4 threads by default): room for the 8 loaders at once.
export UV_THREADPOOL_SIZE=${UV_THREADPOOL_SIZE:-16}
exec "$dest/lib/ld-linux-x86-64.so.2" --library-path "$libpath" "$dest/node" bench/gpu-check.mjs run "$dest/clips" "$@"
