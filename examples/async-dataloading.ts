/**
 * A training loop that consumes batches while the next ones load. It trains nothing: each
 * "step" just busies the event loop's thread for a while, as a model's forward/backward would.
 * At the end it prints how long the loop waited for data against the total time: with
 * prefetching, decoding (on libuv worker threads) hides behind the steps.
 *
 *   pnpm --filter @tvl/examples build && node examples/dist/async-dataloading.js [video] [--prefetch N] [--step-ms MS]
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchDataLoader, VideoDataset, VideoLoader, VideoLoaderPool, normalise, slidingClips } from '@tvl/core';
import '@tvl/libav';

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : fallback;
}
const prefetch = option('--prefetch', 2);
const stepMs = option('--step-ms', 100);

let file = args[0];
if (!file) {
  file = path.join(os.tmpdir(), 'tvl-example-480p.mp4');
  if (!fs.existsSync(file)) {
    console.log(`generating a sample video: ${file}`);
    const r = spawnSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=854x480:r=25',
        '-frames:v',
        '400',
        '-c:v',
        'libx264',
        '-g',
        '25',
        '-pix_fmt',
        'yuv420p',
        file,
      ],
      { stdio: 'inherit' },
    );
    if (r.status !== 0) process.exit(1);
  }
}

const nFrames = await VideoLoader.open(file).then(async (vl) => {
  const n = vl.nFrames;
  await vl.close();
  return n;
});
// 8-frame clips, every other frame, 112x112 from the decoder; 2 loaders decode at once.
const clips = slidingClips(file, nFrames, 8, { stride: 2, step: 8 });
const pool = new VideoLoaderPool({ slots: { cpu: 2 } }); // loaders stay open between clips of the same file
const dataset = new VideoDataset(clips, {
  pool,
  loaderOptions: { outWidth: 112, outHeight: 112, threads: 1 },
  transform: (clip) => normalise(clip, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
});
const loader = new BatchDataLoader(dataset, { batchSize: 4, shuffle: true, seed: 1, dropLast: true, prefetch });

function trainStep(batch: tf.Tensor): void {
  // Stand-in for a model step: a little tensor work, then busy-wait the rest of stepMs.
  const start = performance.now();
  tf.tidy(() => tf.mean(batch).dataSync());
  while (performance.now() - start < stepMs) {
    /* compute */
  }
}

console.log(`${clips.length} clips -> ${loader.length} batches of 4 x [8, 112, 112, 3]; prefetch ${prefetch}; step ${stepMs} ms`);
const t0 = performance.now();
let waited = 0;
let steps = 0;
const iterator = loader[Symbol.asyncIterator]();
for (;;) {
  const w0 = performance.now();
  const next = await iterator.next();
  waited += performance.now() - w0;
  if (next.done) break;
  trainStep(next.value.data);
  next.value.data.dispose();
  steps++;
}
const total = performance.now() - t0;
await pool.close();
console.log(
  `${steps} steps in ${(total / 1000).toFixed(2)} s; waited for data ${(waited / 1000).toFixed(2)} s (${((100 * waited) / total).toFixed(1)}% of the time)`,
);
console.log(`tensors still allocated: ${tf.memory().numTensors}`);
