/**
 * A training loop that consumes batches while the next ones load. It trains nothing: each
 * "step" just busies the event loop's thread for a while, as a model's forward/backward would.
 * It runs one epoch without prefetching and one with 2 batches loading ahead, and prints how long
 * each waited for data against its total time: with prefetching, decoding (on libuv worker
 * threads) goes on during the steps, although they block the thread.
 *
 *   pnpm --filter @tvl/examples build && node examples/dist/async-dataloading.js [video] [--prefetch N] [--step-ms MS]
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { BatchDataLoader, VideoDataset, VideoLoader, VideoLoaderPool, normalise, slidingClips } from '@tvl/core';
import '@tvl/libav';
import { sampleVideo } from './sample-video.mjs';

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args.splice(at, 2)[1]) : fallback;
}
const prefetchOption = option('--prefetch', -1);
const prefetchCounts = prefetchOption >= 0 ? [prefetchOption] : [0, 2];
const stepMs = option('--step-ms', 100);

const file = args[0] ?? sampleVideo({ name: 'example-480p', size: '854x480', frames: 400, gop: 25 });

const nFrames = await VideoLoader.open(file).then(async (vl) => {
  const n = vl.nFrames;
  await vl.close();
  return n;
});
// 8-frame clips, every other frame, 112x112 from the decoder.
const clips = slidingClips(file, nFrames, 8, { stride: 2, step: 8 });

function trainStep(batch: tf.Tensor): void {
  // Stand-in for a model step: normalise the batch (on the whole [B, T, H, W, C] at once), a little
  // tensor work, then busy-wait the rest of stepMs, as a synchronous training step blocks the thread.
  const start = performance.now();
  tf.tidy(() => tf.mean(normalise(batch as tf.Tensor5D, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])).dataSync());
  while (performance.now() - start < stepMs) {
    /* compute */
  }
}

/** One epoch with `prefetch` batches loading ahead; returns the share of the time spent waiting for data. */
async function epoch(prefetch: number): Promise<number> {
  const pool = new VideoLoaderPool({ slots: { cpu: 2 } }); // loaders stay open between clips of the same file
  // (No per-clip `transform`: then each batch is decoded natively into one buffer, and its native
  // work is queued before the previous batch reaches the step.)
  const dataset = new VideoDataset(clips, { pool, loaderOptions: { outWidth: 112, outHeight: 112, threads: 1 } });
  // reuseMemory: the step keeps nothing that views a batch after disposing it, so a disposed
  // batch's memory can hold a later one (no new memory for V8 to collect on this thread).
  const loader = new BatchDataLoader(dataset, { batchSize: 4, shuffle: true, seed: 1, dropLast: true, prefetch, reuseMemory: true });
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
    `prefetch ${prefetch}: ${steps} steps in ${(total / 1000).toFixed(2)} s; waited for data ${(waited / 1000).toFixed(2)} s ` +
      `(${((100 * waited) / total).toFixed(1)}% of the time)`,
  );
  return waited / total;
}

console.log(`${clips.length} clips in batches of 4 x [8, 112, 112, 3]; a training step blocks the thread for ${stepMs} ms`);
// Without prefetching, every batch is decoded while the loop waits; with it, during the steps.
for (const prefetch of prefetchCounts) await epoch(prefetch);
console.log(`tensors still allocated: ${tf.memory().numTensors}`);
