#!/usr/bin/env bash
# A/B: @tvl/libav linked with TVL's FFmpeg (A) vs the system's FFmpeg 5.1 (B), alternating runs of bench.mjs.
set -euo pipefail
cd /work/main
REL=packages/libav/native/build/Release/tvl_libav.node
cp $REL /tmp/libav-tvl.node
for round in 1 2; do
  for v in tvl sys; do
    if [ $v = tvl ]; then cp /tmp/libav-tvl.node $REL; else cp /tmp/libav-sys/build/Release/tvl_libav.node $REL; fi
    echo "=== round $round: $v"
    node bench/bench.mjs --backends libav 2>/dev/null | grep -E "ffmpeg|fps"
  done
done
cp /tmp/libav-tvl.node $REL
