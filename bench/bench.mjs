#!/usr/bin/env node
// Benchmark (not a test): each CPU backend against the ffmpeg CLI on the same file, in the same run.
//   node bench/bench.mjs [video] [--threads N] [--backends libav,opencv]
// Prints sequential fps (rgb24 and float32 tensors) with the ratio to `ffmpeg -f rawvideo
// -pix_fmt rgb24`, and random access to 32 frames against decoding from the start for each.
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VideoLoader } from '@tvl/core';

const args = process.argv.slice(2);
function option(name, fallback) {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
}
const threads = Number(option('--threads', os.availableParallelism()));
const backends = option('--backends', 'libav,opencv').split(',');
let file = args[0];

function progress(label) {
  const start = Date.now();
  if (!process.stderr.isTTY) {
    process.stderr.write(`${label}\n`);
    return () => process.stderr.write(`${label} done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  }
  const timer = setInterval(() => process.stderr.write(`\r${label} ${((Date.now() - start) / 1000).toFixed(0)} s`), 500);
  return () => {
    clearInterval(timer);
    process.stderr.write(`\r${label} done in ${((Date.now() - start) / 1000).toFixed(1)} s\n`);
  };
}

if (!file) {
  file = path.join(os.tmpdir(), 'tvl-bench-1080p-gop250.mp4');
  if (!fs.existsSync(file)) {
    const done = progress('generating a 1000-frame 1080p H.264 clip (GOP 250) with the ffmpeg CLI...');
    const r = spawnSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=1920x1080:r=25',
      '-frames:v',
      '1000',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '250',
      '-keyint_min',
      '250',
      '-sc_threshold',
      '0',
      '-bf',
      '2',
      '-pix_fmt',
      'yuv420p',
      `${file}.tmp.mp4`,
    ]);
    done();
    if (r.status !== 0) throw new Error(String(r.stderr));
    fs.renameSync(`${file}.tmp.mp4`, file);
  }
}

const seconds = (t0) => (performance.now() - t0) / 1000;

function ffmpegSequential() {
  const t0 = performance.now();
  const r = spawnSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    String(threads),
    '-i',
    file,
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-y',
    '/dev/null',
  ]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return seconds(t0);
}

const versions = [];
for (const name of backends) {
  const mod = await import(`@tvl/${name}`);
  if (mod.ffmpegVersion) versions.push(`${name}: ffmpeg ${mod.ffmpegVersion()}`);
  if (mod.opencvVersion) versions.push(`opencv ${mod.opencvVersion()}`);
}

const probe = await VideoLoader.open(file, { backend: backends[0], threads });
const n = probe.nFrames;
console.log(`file: ${file}`);
console.log(
  `${probe.width}x${probe.height}, ${n} frames, ${probe.frameIndex.keyframeCount} keyframes, ${probe.info.codec}; threads ${threads}; ${versions.join(', ')}`,
);
await probe.close();

const fps = (frames, s) => (frames / s).toFixed(1).padStart(7);
const all = Array.from({ length: n }, (_, i) => i);
const chunks = [];
for (let i = 0; i < n; i += 32) chunks.push(all.slice(i, i + 32));
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const picks = Array.from({ length: 32 }, () => Math.floor(rand() * n));

// Sequential: best of two runs each, the CLI run before each backend run so both see the same machine state.
let cli = Infinity;
const results = [];
for (const backend of backends) {
  const vl = await VideoLoader.open(file, { backend, threads });
  let raw = Infinity,
    tensors = Infinity;
  const done = progress(`${backend}: sequential and random access...`);
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
  let t0 = performance.now();
  await vl.selectRawFrames(picks);
  const batch = seconds(t0);
  t0 = performance.now();
  for (const i of picks) await vl.selectRawFrames([i]);
  const oneByOne = seconds(t0);
  done();
  await vl.close();
  results.push({ backend, raw, tensors, batch, oneByOne });
}

console.log('\nsequential decode (whole file)');
console.log(`  ffmpeg CLI -> rgb24                 ${fps(n, cli)} fps`);
for (const r of results) {
  console.log(`  ${`${r.backend} raw rgb24`.padEnd(34)} ${fps(n, r.raw)} fps   ${(cli / r.raw).toFixed(2)}x the CLI`);
  console.log(`  ${`${r.backend} float32 tensors [0,1]`.padEnd(34)} ${fps(n, r.tensors)} fps   ${(cli / r.tensors).toFixed(2)}x the CLI`);
}

// Without an index, reaching frame i means decoding frames 0..i: at the CLI's sequential speed.
const fromStart = picks.reduce((s, i) => s + (i + 1), 0) * (cli / n);
console.log('\nrandom access, 32 frames');
console.log(`  decode from the start each          ${fps(32, fromStart)} fps   (at the CLI's sequential speed)`);
for (const r of results) {
  console.log(
    `  ${`${r.backend}, one selectFrames call`.padEnd(34)} ${fps(32, r.batch)} fps   ${(fromStart / r.batch).toFixed(1)}x decoding from the start`,
  );
  console.log(
    `  ${`${r.backend}, one call per frame`.padEnd(34)} ${fps(32, r.oneByOne)} fps   ${(fromStart / r.oneByOne).toFixed(1)}x decoding from the start`,
  );
}

// Parallel loaders: the file split into equal parts, each read by its own loader (1 decoder
// thread each), all at once. Decoding runs on libuv worker threads, so this scales with cores
// (UV_THREADPOOL_SIZE, default 4, caps it).
console.log(`\nparallel loaders (${backends[0]}, 1 decoder thread each, ${os.availableParallelism()} cores)`);
let oneLoader = 0;
for (const loaders of [1, 2, 4]) {
  const parts = Array.from({ length: loaders }, (_, k) => all.slice(Math.floor((k * n) / loaders), Math.floor(((k + 1) * n) / loaders)));
  const opened = await Promise.all(parts.map(() => VideoLoader.open(file, { backend: backends[0], threads: 1 })));
  const t0 = performance.now();
  await Promise.all(
    opened.map(async (vl, k) => {
      for (let i = 0; i < parts[k].length; i += 32) await vl.selectRawFrames(parts[k].slice(i, i + 32));
    }),
  );
  const s = seconds(t0);
  await Promise.all(opened.map((vl) => vl.close()));
  if (loaders === 1) oneLoader = s;
  console.log(`  ${`${loaders} loader${loaders > 1 ? 's' : ''}`.padEnd(34)} ${fps(n, s)} fps   ${(oneLoader / s).toFixed(2)}x one loader`);
}
