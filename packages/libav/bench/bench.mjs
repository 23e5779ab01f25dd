#!/usr/bin/env node
// Benchmark (not a test): @tvl/libav against the ffmpeg CLI on the same file, in the same run.
//   node bench/bench.mjs [video] [--threads N]
// Prints sequential fps (rgb24 and float32 tensors) with the ratio to `ffmpeg -f rawvideo
// -pix_fmt rgb24`, and random access to 32 frames against decoding from the start for each.
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VideoLoader } from '@tvl/core';
import '@tvl/libav';

const args = process.argv.slice(2);
const threadsArg = args.indexOf('--threads');
const threads = threadsArg >= 0 ? Number(args.splice(threadsArg, 2)[1]) : os.availableParallelism();
let file = args[0];

function progress(label) {
  const start = Date.now();
  const timer = setInterval(() => process.stderr.write(`\r${label} ${((Date.now() - start) / 1000).toFixed(0)} s`), 500);
  return () => { clearInterval(timer); process.stderr.write(`\r${label} done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`); };
}

if (!file) {
  file = path.join(os.tmpdir(), 'tvl-bench-1080p-gop250.mp4');
  if (!fs.existsSync(file)) {
    const done = progress('generating a 1000-frame 1080p H.264 clip (GOP 250) with the ffmpeg CLI...');
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=1920x1080:r=25', '-frames:v', '1000',
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '250', '-keyint_min', '250', '-sc_threshold', '0', '-bf', '2', '-pix_fmt', 'yuv420p', `${file}.tmp.mp4`]);
    done();
    if (r.status !== 0) throw new Error(String(r.stderr));
    fs.renameSync(`${file}.tmp.mp4`, file);
  }
}

const seconds = (t0) => (performance.now() - t0) / 1000;

function ffmpegSequential() {
  const t0 = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-threads', String(threads), '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', '/dev/null']);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return seconds(t0);
}

const vl = await VideoLoader.open(file, { threads });
const n = vl.nFrames;
console.log(`file: ${file}`);
console.log(`${vl.width}x${vl.height}, ${n} frames, ${vl.frameIndex.keyframeCount} keyframes, ${vl.info.codec}; threads ${threads}; ffmpeg ${(await import('@tvl/libav')).ffmpegVersion()}`);

// Sequential: best of two runs each, CLI and TVL interleaved so both see the same machine state.
const all = Array.from({ length: n }, (_, i) => i);
const chunks = [];
for (let i = 0; i < n; i += 32) chunks.push(all.slice(i, i + 32));
let cli = Infinity, raw = Infinity, tensors = Infinity;
for (let rep = 0; rep < 2; rep++) {
  cli = Math.min(cli, ffmpegSequential());
  let t0 = performance.now();
  for (const c of chunks) await vl.selectRawFrames(c);
  raw = Math.min(raw, seconds(t0));
  vl.seekToFrame(0);
  t0 = performance.now();
  for await (const t of vl.remainingFrames()) t.dispose();
  tensors = Math.min(tensors, seconds(t0));
}
const fps = (s) => (n / s).toFixed(1).padStart(7);
console.log('\nsequential decode (whole file)');
console.log(`  ffmpeg CLI -> rgb24           ${fps(cli)} fps`);
console.log(`  TVL raw rgb24                 ${fps(raw)} fps   ${(cli / raw).toFixed(2)}x the CLI`);
console.log(`  TVL float32 tensors [0,1]     ${fps(tensors)} fps   ${(cli / tensors).toFixed(2)}x the CLI`);

// Random access: 32 frames spread over the file.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const picks = Array.from({ length: 32 }, () => Math.floor(rand() * n));
let t0 = performance.now();
await vl.selectRawFrames(picks);
const batch = seconds(t0);
t0 = performance.now();
for (const i of picks) await vl.selectRawFrames([i]);
const oneByOne = seconds(t0);
// Without an index, reaching frame i means decoding frames 0..i: at the CLI's sequential speed.
const fromStart = picks.reduce((s, i) => s + (i + 1), 0) * (cli / n);
console.log('\nrandom access, 32 frames');
console.log(`  decode from the start each    ${(32 / fromStart).toFixed(1).padStart(7)} fps   (at the CLI's sequential speed)`);
console.log(`  TVL, one selectFrames call    ${(32 / batch).toFixed(1).padStart(7)} fps   ${(fromStart / batch).toFixed(1)}x decoding from the start`);
console.log(`  TVL, one call per frame       ${(32 / oneByOne).toFixed(1).padStart(7)} fps   ${(fromStart / oneByOne).toFixed(1)}x decoding from the start`);
await vl.close();
