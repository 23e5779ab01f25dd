#!/usr/bin/env node
// Benchmark (not a test): TVL against its peers on the same files, in the same run.
//   node bench/bench.mjs [--rounds N] [--threads N] [--backends libav,opencv] [--json out.json] [--samples]
// Peers: the ffmpeg CLI (rgb24 sequential, scaled rgb24, and `-f null`, whose decode rate gives
// the minimal-decode bound of each random request: every wanted GOP decoded from its keyframe to
// its last wanted frame), and the Python TVL's PyAV backend where /usr/bin/python3 has torch and
// av and ../shared/peers/tvl-python exists (skipped with a note otherwise). Each figure is the
// median of `rounds` rounds (default 3); within a round every peer and TVL run one after another,
// so all see the same machine.
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VideoLoader } from '@tvl/core';
import { benchClip } from './bench-clips.mjs';
import { PICKS, RANDOM_ACCESS_CLIP, median, minimalDecode, range, seededPicks } from './random-access.mjs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
}
const rounds = Number(option('--rounds', 3));
const threads = Number(option('--threads', os.availableParallelism()));
const backends = option('--backends', 'libav').split(',');
const jsonOut = option('--json', null);
function flag(name) {
  const at = args.indexOf(name);
  return at >= 0 && args.splice(at, 1).length === 1;
}
const showSamples = flag('--samples');
if (args.length) throw new Error(`unknown arguments: ${args.join(' ')} (see the header of bench/bench.mjs)`);

const here = path.dirname(fileURLToPath(import.meta.url));
const pythonPeer = path.resolve(here, '../../shared/peers/tvl-python');

// The files: the issue's 720p60 clip (GOP 120, B-frames), a 1080p clip for the 224x224 resize,
// and one hour of video made by stream-copying a 10 s clip 360 times (GOP 250: 10 s).
const clip720 = benchClip(RANDOM_ACCESS_CLIP.name, RANDOM_ACCESS_CLIP.spec);
const clip1080 = benchClip('1080p25', { size: '1920x1080', rate: 25, frames: 300, gop: 250 });
const HOUR_SOURCE_FRAMES = 250;
const hourSource = benchClip('720p25-10s', { size: '1280x720', rate: 25, frames: HOUR_SOURCE_FRAMES, gop: 250, crf: 30 });
const hour = benchClip('720p25-1h', { concatOf: hourSource, copies: 360 });

for (const name of backends) await import(`@tvl/${name}`);

// ---- the measurements, each returning seconds -------------------------------------------------

function cli(file, outputArgs) {
  const t0 = performance.now();
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-threads', String(threads), '-i', file, ...outputArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function withLoader(file, options, fn) {
  const vl = await VideoLoader.open(file, { threads, ...options });
  try {
    return await fn(vl);
  } finally {
    await vl.close();
  }
}

const seqRaw = (backend) =>
  withLoader(clip720, { backend }, (vl) =>
    timed(async () => {
      for (let i = 0; i < vl.nFrames; i += 32) await vl.selectRawFrames(range(i, Math.min(i + 32, vl.nFrames)));
    }),
  );

const seqTensors = (file, backend, options = {}) =>
  withLoader(file, { backend, ...options }, (vl) =>
    timed(async () => {
      for await (const t of vl.remainingFrames()) t.dispose();
    }),
  );

/** 32 frames in one call, then the same frames one call each (rising order, and request order). */
const randomAccess = (file, backend, picks, options = {}) =>
  withLoader(file, { backend, ...options }, async (vl) => {
    const oneCall = await timed(() => vl.selectRawFrames(picks));
    const work = vl.decodeWork;
    vl.seekToFrame(0);
    const rising = await timed(async () => {
      for (const i of [...picks].sort((a, b) => a - b)) await vl.selectRawFrames([i]);
    });
    vl.seekToFrame(0);
    const eachRandom = await timed(async () => {
      for (const i of picks) await vl.selectRawFrames([i]);
    });
    return { oneCall, rising, eachRandom, framesDecoded: work.framesDecoded };
  });

function pythonTvl(file, picks) {
  const script = `
import json, sys, time
sys.path[:0] = [${JSON.stringify(path.join(pythonPeer, 'src'))}, ${JSON.stringify(path.join(pythonPeer, 'tvl_backends/tvl-backends-pyav/src'))}]
import torch, tvl
vl = tvl.VideoLoader(${JSON.stringify(file)}, 'cpu', dtype=torch.uint8)
t = time.perf_counter(); n = sum(1 for _ in vl.remaining_frames()); seq = time.perf_counter() - t
vl = tvl.VideoLoader(${JSON.stringify(file)}, 'cpu', dtype=torch.uint8)
t = time.perf_counter(); got = list(vl.select_frames(${JSON.stringify(picks)})); rand = time.perf_counter() - t
print(json.dumps({"frames": n, "seq": seq, "rand": rand}))`;
  const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  if (r.status !== 0) throw new Error(`the Python TVL failed: ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function pythonTvlAvailable() {
  if (!fs.existsSync(path.join(pythonPeer, 'src/tvl/__init__.py'))) return `${pythonPeer} is not there`;
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, av'], { encoding: 'utf8' });
  if (r.status !== 0) return '/usr/bin/python3 lacks torch or av (apt-get install python3-torch python3-av)';
  return null;
}

// ---- helpers ------------------------------------------------------------------------------------

function progress(label) {
  const start = Date.now();
  process.stderr.write(`${label}...`);
  return () => process.stderr.write(` ${((Date.now() - start) / 1000).toFixed(0)} s\n`);
}

// ---- the run --------------------------------------------------------------------------------------

const facts = await withLoader(clip720, { backend: backends[0] }, (vl) => {
  const picks = seededPicks(vl.nFrames, PICKS, 42);
  return { n: vl.nFrames, keyframes: vl.frameIndex.keyframeCount, picks, bound: minimalDecode(vl.frameIndex, picks) };
});
const hourFacts = await withLoader(hour, { backend: backends[0] }, (vl) => {
  const picks = seededPicks(vl.nFrames, PICKS, 7);
  return { n: vl.nFrames, keyframes: vl.frameIndex.keyframeCount, picks, bound: minimalDecode(vl.frameIndex, picks) };
});
const n1080 = await withLoader(clip1080, { backend: backends[0] }, (vl) => vl.nFrames);
const pythonMissing = pythonTvlAvailable();

const samples = {};
const add = (key, seconds) => (samples[key] ??= []).push(seconds);
for (let round = 1; round <= rounds; round++) {
  const done = progress(`round ${round} of ${rounds}`);
  add('cli rgb24', cli(clip720, ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', '/dev/null']));
  add('cli null', cli(clip720, ['-f', 'null', '-']));
  add('cli null hour source', cli(hourSource, ['-f', 'null', '-']));
  add('cli 224', cli(clip1080, ['-vf', 'scale=224:224', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-y', '/dev/null']));
  for (const backend of backends) {
    add(`${backend} raw`, await seqRaw(backend));
    add(`${backend} float32`, await seqTensors(clip720, backend));
    add(`${backend} float32 reuse`, await seqTensors(clip720, backend, { reuseMemory: true }));
    add(`${backend} 224`, await seqTensors(clip1080, backend, { outWidth: 224, outHeight: 224 }));
    const r = await randomAccess(clip720, backend, facts.picks);
    add(`${backend} random`, r.oneCall);
    add(`${backend} rising`, r.rising);
    add(`${backend} each`, r.eachRandom);
    add(`${backend} decoded`, r.framesDecoded);
    if (backend === 'libav') {
      const skip = await randomAccess(clip720, backend, facts.picks, { backendOptions: { skipUnreferenced: true } });
      add(`${backend} random skipping`, skip.oneCall);
      add(`${backend} decoded skipping`, skip.framesDecoded);
    }
    const h = await randomAccess(hour, backend, hourFacts.picks);
    add(`${backend} hour random`, h.oneCall);
    add(`${backend} hour each`, h.eachRandom);
  }
  if (!pythonMissing) {
    const p = pythonTvl(clip720, facts.picks);
    add('python seq', p.seq);
    add('python random', p.rand);
  }
  done();
}

if (showSamples) console.error(`seconds per round: ${JSON.stringify(samples)}`);
const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const fps = (frames, seconds) => frames / seconds;
const boundFps = fps(PICKS, facts.bound.frames / fps(facts.n, s['cli null']));
const hourBoundFps = fps(PICKS, hourFacts.bound.frames / fps(HOUR_SOURCE_FRAMES, s['cli null hour source']));
const rows = [];
const row = (name, value, against = '', target = '') => rows.push({ name, fps: value, against, target });
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

const cliRgb = fps(facts.n, s['cli rgb24']);
const cli224 = fps(n1080, s['cli 224']);
row('ffmpeg CLI -> rgb24, sequential (720p60)', cliRgb);
row('ffmpeg CLI -f null (decode only)', fps(facts.n, s['cli null']));
row('ffmpeg CLI -> 224x224 rgb24 (from 1080p)', cli224);
row(`minimal-decode bound, ${PICKS} random frames (${facts.bound.frames} frames in ${facts.bound.gops} GOPs)`, boundFps);
let python = null;
if (!pythonMissing) {
  python = { seq: fps(facts.n, s['python seq']), rand: fps(PICKS, s['python random']) };
  row('Python TVL (PyAV) uint8, sequential', python.seq);
  row(`Python TVL (PyAV), ${PICKS} random frames in one select_frames`, python.rand);
}
for (const b of backends) {
  const random = fps(PICKS, s[`${b} random`]);
  row(`@tvl/${b} raw rgb24, sequential`, fps(facts.n, s[`${b} raw`]), `${ratio(fps(facts.n, s[`${b} raw`]), cliRgb)} the CLI`, '>= 1.0x');
  row(
    `@tvl/${b} float32 tensors, sequential`,
    fps(facts.n, s[`${b} float32`]),
    `${ratio(fps(facts.n, s[`${b} float32`]), cliRgb)} the CLI's rgb24`,
    '>= 0.8x',
  );
  row(
    `@tvl/${b} float32 tensors, sequential, reuseMemory`,
    fps(facts.n, s[`${b} float32 reuse`]),
    `${ratio(fps(facts.n, s[`${b} float32 reuse`]), cliRgb)} the CLI's rgb24`,
    '>= 0.8x',
  );
  row(
    `@tvl/${b} float32 224x224 from 1080p`,
    fps(n1080, s[`${b} 224`]),
    `${ratio(fps(n1080, s[`${b} 224`]), cli224)} the CLI's scaled rgb24`,
    '>= 1.0x',
  );
  row(
    `@tvl/${b}, ${PICKS} random frames in one call (${Math.round(s[`${b} decoded`])} frames decoded)`,
    random,
    `${ratio(random, boundFps)} the bound${python ? `, ${ratio(random, python.rand)} the Python TVL` : ''}`,
    '>= 0.9x bound, >= 2x Python',
  );
  if (s[`${b} random skipping`]) {
    const skipping = fps(PICKS, s[`${b} random skipping`]);
    row(
      `@tvl/${b} skipUnreferenced, the same in one call (${Math.round(s[`${b} decoded skipping`])} frames decoded)`,
      skipping,
      `${ratio(skipping, boundFps)} the bound${python ? `, ${ratio(skipping, python.rand)} the Python TVL` : ''}`,
    );
  }
  row(
    `@tvl/${b}, the same frames one call each, rising order`,
    fps(PICKS, s[`${b} rising`]),
    `${ratio(fps(PICKS, s[`${b} rising`]), random)} one call`,
    '>= 0.5x',
  );
  row(
    `@tvl/${b}, the same frames one call each, request order`,
    fps(PICKS, s[`${b} each`]),
    `${ratio(fps(PICKS, s[`${b} each`]), random)} one call`,
  );
  const hourRandom = fps(PICKS, s[`${b} hour random`]);
  row(
    `@tvl/${b}, 1-hour file, ${PICKS} random frames in one call`,
    hourRandom,
    `${ratio(hourRandom, hourBoundFps)} its bound (${hourBoundFps.toFixed(1)} fps)`,
  );
  row(
    `@tvl/${b}, 1-hour file, the same frames one call each`,
    fps(PICKS, s[`${b} hour each`]),
    `${(s[`${b} hour each`] / PICKS).toFixed(3)} s a frame`,
  );
}

const cpu = (os.cpus()[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ');
console.log(
  `\n${new Date().toISOString().slice(0, 10)}, ${os.availableParallelism()} cores (${cpu}), ${threads} threads, medians of ${rounds} rounds`,
);
console.log(
  `720p60 H.264: ${facts.n} frames, ${facts.keyframes} keyframes (GOP 120, B-frames); 1-hour file: ${hourFacts.n} frames, ${hourFacts.keyframes} keyframes`,
);
if (pythonMissing) console.log(`Python TVL skipped: ${pythonMissing}`);
const width = Math.max(...rows.map((r) => r.name.length));
for (const r of rows)
  console.log(`${r.name.padEnd(width)}  ${r.fps.toFixed(1).padStart(7)} fps  ${r.against}${r.target ? `  (target ${r.target})` : ''}`);
if (jsonOut)
  fs.writeFileSync(
    jsonOut,
    `${JSON.stringify({ date: new Date().toISOString(), cores: os.availableParallelism(), cpu, threads, rounds, rows }, null, 2)}\n`,
  );
