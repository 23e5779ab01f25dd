#!/usr/bin/env node
// Benchmark (not a test): does background loading hide behind a training step that blocks the
// main thread, as a synchronous step (tfjs-node ops, most real steps) does?
//   node bench/training-loop.mjs [--batches N] [--warm-batches N] [--backend libav]
// Batches of 8 clips x 16 frames at 112x112 from a 1080p and a 720p H.264 file. Prints, in one run:
//   - pure loading (step 0 ms): clips/s through BatchDataLoader, against a plain loop over
//     VideoLoader.selectFrameBatch (one clip at a time, then stacked);
//   - with a step that busy-waits 1.5x the time to load one batch beside it (measured with a
//     worker thread holding one core, as the step will): the share of the total spent
//     waiting for data, for prefetch 0, 1 and 2, and the main thread's milliseconds per batch
//     spent outside the step (TVL's own work on the main thread, V8's collections included): as
//     wall time (event-loop utilisation, which counts the time the OS gives the cores to the
//     decoding threads instead) and as the main thread's own CPU time (Linux: its schedstat);
//     prefetch 1 and 2 again with reuseMemory (the batches' memory used again once disposed, so
//     V8 has no batch buffers to collect);
//   - the main thread's CPU per batch once V8 has optimised the code (a longer epoch, counted
//     after its first 24 batches), without and with reuseMemory, and the share of that epoch
//     spent waiting (where the first batch, which nothing can hide, weighs as in a real epoch).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { BatchDataLoader, VideoDataset, VideoLoader, VideoLoaderPool } from '@tvl/core';
import { benchClip } from './bench-clips.mjs';

const args = process.argv.slice(2);
function option(name, fallback) {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : fallback;
}
const batches = Number(option('--batches', 12));
// The main thread's cost once V8 has optimised TVL's code: batches after the first WARMUP of these.
const warmBatches = Number(option('--warm-batches', 64));
const WARMUP = 24;
const backend = option('--backend', 'libav');
await import(`@tvl/${backend}`);

const BATCH = 8;
const FRAMES = 16;
const SIZE = 112;

// (Keyframes every 60 frames: the x264 default would put some in at scene cuts too.)
const files = [
  benchClip('training-1080p', { size: '1920x1080', rate: 30, frames: 600, gop: 60 }),
  benchClip('training-720p', { size: '1280x720', rate: 30, frames: 600, gop: 60 }),
];

// Clips of 16 consecutive frames at seeded places, alternating between the two files.
let seed = 12345;
const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
const clipsFor = (n) =>
  Array.from({ length: BATCH * n }, (_, k) => {
    const start = Math.floor(random() * (600 - FRAMES));
    return { path: files[k % 2], frames: Array.from({ length: FRAMES }, (_, t) => start + t) };
  });
const clips = clipsFor(batches);
const loaderOptions = { backend, outWidth: SIZE, outHeight: SIZE };

/** CPU milliseconds the main thread has run (Linux), or NaN where the kernel does not say. */
function mainThreadCpuMs() {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * A synchronous training step: arithmetic until `ms` have passed. It reads the clock only every
 * million operations (about a millisecond), so that it makes no garbage of its own: reading the
 * clock allocates a little, and reading it every 20,000 operations made a scavenge every two
 * seconds, which often ran just after the step and was counted as TVL's. So the collections
 * outside the step are those of what TVL allocates, as beside a real step that allocates little
 * on V8's heap (tfjs-node keeps tensors in native memory).
 */
const spin = (x) => {
  for (let i = 0; i < 1_000_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
};
let sink = 0;
function busy(ms) {
  const end = performance.now() + ms;
  let x = sink;
  while (performance.now() < end) x = spin(x);
  sink = x;
}

/** Runs `fn` while a worker thread keeps one core busy, as the training step will. */
async function besideBusyCore(fn) {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData: stop } = require('node:worker_threads');
     const spin = ${spin};
     let x = 1;
     while (Atomics.load(stop, 0) === 0) x = spin(x);`,
    { eval: true, workerData: stop },
  );
  await new Promise((resolve) => worker.once('online', resolve));
  try {
    return await fn();
  } finally {
    Atomics.store(stop, 0, 1);
    await worker.terminate();
  }
}

/**
 * One epoch through BatchDataLoader; returns seconds, seconds waiting for data, and main-thread ms
 * per batch outside the step (also over the batches after the first `warmup` alone).
 */
async function epoch(prefetch, stepMs, { reuseMemory = false, epochClips = clips, warmup = 0 } = {}) {
  const pool = new VideoLoaderPool({ slots: { cpu: 2 } });
  const dataset = new VideoDataset(epochClips, { pool, loaderOptions });
  // Open both files first (indexing is a one-time cost, not loading).
  await Promise.all(files.map((f) => pool.withLoader(f, () => undefined, { loaderOptions })));
  const loader = new BatchDataLoader(dataset, { batchSize: BATCH, prefetch, reuseMemory });
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = mainThreadCpuMs();
  let stepCpu = 0;
  const t0 = performance.now();
  let waiting = 0;
  let firstWait = 0;
  let n = 0;
  let asked = performance.now();
  let cpuAtWarmup = 0;
  for await (const batch of loader) {
    const waited = performance.now() - asked;
    if (n === 0) firstWait = waited;
    waiting += waited;
    const stepStart = mainThreadCpuMs();
    busy(stepMs);
    stepCpu += mainThreadCpuMs() - stepStart;
    batch.data.dispose();
    n++;
    if (n === warmup) cpuAtWarmup = mainThreadCpuMs() - cpu0 - stepCpu;
    asked = performance.now();
  }
  const total = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = mainThreadCpuMs() - cpu0 - stepCpu;
  await dataset.close();
  await pool.close();
  return {
    seconds: total / 1000,
    waitShare: waiting / total,
    // After the first batch, which nothing can hide (there is no step before it).
    steadyWaitShare: (waiting - firstWait) / (total - firstWait),
    mainMsPerBatch: (elu.active - n * stepMs) / n,
    mainCpuMsPerBatch: cpu / n,
    mainCpuMsPerBatchWarm: (cpu - cpuAtWarmup) / (n - warmup),
    batches: n,
  };
}

/** The plain way: each clip with selectFrameBatch, one after another, then stacked. */
async function plainLoop() {
  const loaders = new Map(await Promise.all(files.map(async (f) => [f, await VideoLoader.open(f, loaderOptions)])));
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const parts = [];
    for (const c of clips.slice(b * BATCH, (b + 1) * BATCH)) parts.push(await loaders.get(c.path).selectFrameBatch(c.frames));
    const data = tf.stack(parts);
    parts.forEach((p) => p.dispose());
    data.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const vl of loaders.values()) await vl.close();
  return seconds;
}

console.log(
  `${batches} batches of ${BATCH} clips x ${FRAMES} frames at ${SIZE}x${SIZE} from 1080p and 720p H.264 (${backend}), ${os.availableParallelism()} cores, ${new Date().toISOString().slice(0, 10)}`,
);
const plain = await plainLoop();
const pure = await epoch(1, 0);
const clipsPerSecond = (s) => ((batches * BATCH) / s).toFixed(1);
const share = (x) => `${(100 * x).toFixed(1)} %`;
const msPerBatch = (r) => (r.seconds * 1000) / r.batches;
console.log(
  `pure loading: BatchDataLoader ${clipsPerSecond(pure.seconds)} clips/s; plain selectFrameBatch loop ${clipsPerSecond(plain)} clips/s (${(plain / pure.seconds).toFixed(2)}x)`,
);
// The step will hold one core; loading goes on beside it on the others. So the load time the step
// is sized by is measured with another thread holding a core (on two cores, pure loading has both
// and a batch loads in about half the time it takes beside the step).
const beside = await besideBusyCore(() => epoch(1, 0));
const loadMs = msPerBatch(beside);
const stepMs = 1.5 * loadMs;
console.log(
  `one batch loads in ${msPerBatch(pure).toFixed(0)} ms, in ${loadMs.toFixed(0)} ms with a core held by another thread; ` +
    `the step blocks the main thread for 1.5x that, ${stepMs.toFixed(0)} ms`,
);
console.log('prefetch                 waiting for data  after the first batch  main-thread ms per batch outside the step: wall  CPU');
for (const [prefetch, reuseMemory] of [
  [0, false],
  [1, false],
  [2, false],
  [1, true],
  [2, true],
]) {
  const r = await epoch(prefetch, stepMs, { reuseMemory });
  console.log(
    `${`${prefetch}${reuseMemory ? ' + reuseMemory' : ''}`.padEnd(23)}  ${share(r.waitShare).padStart(16)}  ${share(r.steadyWaitShare).padStart(21)}  ${r.mainMsPerBatch.toFixed(2).padStart(57)}  ${r.mainCpuMsPerBatch.toFixed(2).padStart(5)}`,
  );
}

// Long enough for V8 to optimise the code that runs once or twice a batch (in a short run it is
// still interpreted, and costs about twice as much).
const warmClips = clipsFor(warmBatches);
console.log(`main thread once warm: batches ${WARMUP + 1} to ${warmBatches} of ${warmBatches}, prefetch 2, the same step`);
for (const reuseMemory of [false, true]) {
  const r = await epoch(2, stepMs, { reuseMemory, epochClips: warmClips, warmup: WARMUP });
  console.log(
    `  ${reuseMemory ? 'reuseMemory' : 'default'.padEnd(11)}  ${r.mainCpuMsPerBatchWarm.toFixed(2)} CPU ms per batch outside the step; ` +
      `waiting for data ${share(r.waitShare)} of the epoch (${share(r.steadyWaitShare)} after the first batch)`,
  );
}
