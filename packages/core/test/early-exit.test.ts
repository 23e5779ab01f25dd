/**
 * Leaving an iterator early or aborting it frees every tensor it made and did not hand out, and
 * leaves the loader's position at the first frame not delivered. Batches load ahead only as far
 * as `prefetch` says, and batches that cannot be stacked say which items differ.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { BatchDataLoader, VideoDataset, VideoLoader, VideoLoaderPool, asyncDataset, listBackends } from '@tvl/core';
import { registerBackend, unregisterBackend, type DecodeRequest } from '@tvl/core/backend';
import { fakeBackend } from './fake-backend.js';

beforeEach(() => registerBackend(fakeBackend('fake', [], { nFrames: 20 })));
afterEach(() => {
  for (const b of listBackends()) unregisterBackend(b.name);
});

const value = (t: tf.Tensor) => Math.round(t.dataSync()[0] * 255);

describe('VideoLoader iterators', () => {
  it('remainingFrames: a break after 3 frames frees the rest of the native call and the next read is frame 3', async () => {
    const vl = await VideoLoader.open('clip');
    const before = tf.memory().numTensors;
    const got: number[] = [];
    for await (const t of vl.remainingFrames()) {
      got.push(value(t));
      t.dispose();
      if (got.length === 3) break;
    }
    expect(got).toEqual([0, 1, 2]);
    expect(tf.memory().numTensors).toBe(before);
    expect(vl.position).toBe(3);
    const next = await vl.readFrame();
    expect(value(next)).toBe(3);
    next.dispose();
    await vl.close();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('remainingFrames: decodes one chunk ahead, and a break at the end of a chunk frees the chunk read ahead', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls, { nFrames: 20 }));
    const vl = await VideoLoader.open('clip');
    const before = tf.memory().numTensors;
    const got: number[] = [];
    for await (const t of vl.remainingFrames()) {
      // The next chunk's native call is under way before the first frame of this one is used.
      if (got.length === 0) expect(calls).toHaveLength(2);
      got.push(value(t));
      t.dispose();
      if (got.length === 8) break; // exactly one chunk (8 frames a call)
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(tf.memory().numTensors).toBe(before);
    expect(vl.position).toBe(8);
    const next = await vl.readFrame();
    expect(value(next)).toBe(8);
    next.dispose();
    // And read to the end: every frame once, in order, nothing left.
    const rest: number[] = [];
    for await (const t of vl.remainingFrames()) {
      rest.push(value(t));
      t.dispose();
    }
    expect(rest).toEqual(Array.from({ length: 11 }, (_, k) => 9 + k));
    expect(tf.memory().numTensors).toBe(before);
    await vl.close();
  });

  it('remainingFrames: an abort stops at once with TVL_ABORTED, frees what was not handed out, and keeps the position', async () => {
    const vl = await VideoLoader.open('clip');
    const before = tf.memory().numTensors;
    const abort = new AbortController();
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const t of vl.remainingFrames({ signal: abort.signal })) {
          got.push(value(t));
          t.dispose();
          if (got.length === 2) abort.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'TVL_ABORTED' });
    expect(got).toEqual([0, 1]);
    expect(tf.memory().numTensors).toBe(before);
    expect(vl.position).toBe(2);
    await vl.close();
  });

  it('selectFrames: leaving early or aborting leaves no tensor behind', async () => {
    const vl = await VideoLoader.open('clip');
    const before = tf.memory().numTensors;
    for await (const t of vl.selectFrames([5, 9, 1, 7])) {
      t.dispose();
      break;
    }
    const abort = new AbortController();
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const t of vl.selectFrames([5, 9, 1, 7], { signal: abort.signal })) {
          got.push(value(t));
          t.dispose();
          abort.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'TVL_ABORTED' });
    expect(got).toEqual([5]);
    expect(tf.memory().numTensors).toBe(before);
    await vl.close();
  });
});

describe('VideoLoader reuseMemory', () => {
  it('streamed frames go into the memory of disposed ones, exactly; a kept frame is never written over', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls, { nFrames: 20 }));
    const vl = await VideoLoader.open('clip', { backend: 'fake', reuseMemory: true });
    const before = tf.memory().numTensors;
    const got: number[] = [];
    const kept: tf.Tensor[] = [];
    for await (const t of vl.remainingFrames()) {
      got.push(value(t));
      // Frames 0 and 9 are kept: no later frame may be written into their memory.
      if (got.length === 1 || got.length === 10) kept.push(t);
      else t.dispose();
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(kept.map(value)).toEqual([0, 9]);
    const keptMemory = kept.map((t) => (t.dataSync() as Float32Array).buffer);
    const written = calls.flatMap((c) => c.buffers.map((b) => b.buffer));
    // 20 frames in chunks of 8, one chunk ahead: the third chunk reuses the first one's memory.
    expect(new Set(written).size).toBeLessThan(written.length);
    expect(written.filter((b) => keptMemory.includes(b))).toHaveLength(2);
    tf.dispose(kept);
    // A selectFrameBatch batch disposed: the next one of the same size is written into its memory.
    const a = await vl.selectFrameBatch([3, 4]);
    const memoryA = (a.dataSync() as Float32Array).buffer;
    a.dispose();
    const b = await vl.selectFrameBatch([5, 6]);
    expect((b.dataSync() as Float32Array).buffer).toBe(memoryA);
    expect(Math.round(b.dataSync()[0] * 255)).toBe(5);
    b.dispose();
    // Raw frames are never reused memory.
    const raw = await vl.selectRawFrames([7]);
    expect(written).not.toContain(raw[0].data.buffer);
    await vl.close();
    expect(tf.memory().numTensors).toBe(before);
    await expect(VideoLoader.open('clip', { backend: 'fake', reuseMemory: 'yes' as unknown as boolean })).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringContaining('reuseMemory'),
    });
  });
});

describe('BatchDataLoader', () => {
  it('prefetch 0 loads nothing ahead; prefetch k keeps k batches loading while the caller has one', async () => {
    for (const prefetch of [0, 1, 2]) {
      const started: number[] = [];
      const ds = asyncDataset(12, async (i) => {
        started.push(i);
        return tf.scalar(i);
      });
      const loader = new BatchDataLoader(ds, { batchSize: 2, prefetch });
      const startedWhileHolding: number[] = [];
      for await (const batch of loader) {
        // Let any loading that was started run.
        await new Promise((r) => setTimeout(r, 5));
        startedWhileHolding.push(started.length);
        batch.data.dispose();
      }
      // Holding batch b (items 2b, 2b+1), the loader has started the items of batches b+1..b+prefetch.
      expect(startedWhileHolding).toEqual(Array.from({ length: 6 }, (_, b) => Math.min(12, 2 * (b + 1 + prefetch))));
    }
  });

  it('items of different shapes are TVL_INVALID_ARGUMENT naming the two that differ', async () => {
    const ds = asyncDataset(
      2,
      async (i) => tf.zeros(i === 0 ? [4, 2, 2, 3] : [4, 3, 2, 3]),
      (i) => `clip-${i}.mp4 frames [0..3]`,
    );
    const before = tf.memory().numTensors;
    const loader = new BatchDataLoader(ds, { batchSize: 2 });
    await expect(
      (async () => {
        for await (const b of loader) b.data.dispose();
      })(),
    ).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringMatching(
        /clip-0\.mp4 frames \[0\.\.3\] is \[4,2,2,3\] float32 and clip-1\.mp4 frames \[0\.\.3\] is \[4,3,2,3\]/,
      ),
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('VideoDataset batches', () => {
  it("the next batches' native calls are started before the caller gets a batch, so they run while its step blocks", async () => {
    for (const b of listBackends()) unregisterBackend(b.name);
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls, { nFrames: 40 }));
    const clips = Array.from({ length: 8 }, (_, k) => ({ path: `clip-${k % 2}.mp4`, frames: [k, k + 1, k + 2] }));
    for (const prefetch of [0, 1, 2]) {
      calls.length = 0;
      const ds = new VideoDataset(clips, { loaderOptions: { outWidth: 4, outHeight: 2 } });
      const loader = new BatchDataLoader(ds, { batchSize: 2, prefetch });
      const seen: number[] = [];
      let b = 0;
      for await (const batch of loader) {
        // Synchronously, as a blocking step would: what has the backend been asked to decode?
        seen.push(calls.length);
        expect(batch.data.shape).toEqual([2, 3, 2, 4, 3]);
        // Clip k holds frames k..k+2 of clip-(k % 2).mp4 (the fake backend writes frame i of clip-n as i + 100 n).
        const values = batch.data.dataSync();
        expect([0, 1].map((j) => Math.round(values[j * 3 * 2 * 4 * 3] * 255))).toEqual(batch.indices.map((k) => k + 100 * (k % 2)));
        batch.data.dispose();
        b++;
      }
      // One native call per file per batch (each batch here has one clip of each of the 2 files):
      // holding batch b, the calls of batches b+1..b+prefetch have been made too.
      expect(seen).toEqual(Array.from({ length: 4 }, (_, k) => 2 * Math.min(4, k + 1 + prefetch)));
      await ds.close();
    }
  });

  it('a batch loaded ahead continues from where the batches before it leave the decoder, seeking only if they do not', async () => {
    for (const b of listBackends()) unregisterBackend(b.name);
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls, { nFrames: 40, decodeMs: 5 }));
    // Clips of one file, in order, each right after the last (an evaluation pass), on one loader.
    const clips = Array.from({ length: 6 }, (_, k) => ({ path: 'clip-0.mp4', frames: [3 * k, 3 * k + 1, 3 * k + 2] }));
    const pool = new VideoLoaderPool({ slots: { cpu: 1 } });
    const ds = new VideoDataset(clips, { pool, loaderOptions: { outWidth: 4, outHeight: 2 } });
    const firstPixels: number[] = [];
    for await (const batch of new BatchDataLoader(ds, { batchSize: 2, prefetch: 2 })) {
      firstPixels.push(Math.round(batch.data.dataSync()[0] * 255));
      batch.data.dispose();
    }
    expect(firstPixels).toEqual([0, 6, 12]);
    // Batches 2 and 3 were planned while the ones before them were in flight: they continue from
    // the frame those leave the decoder at (5, 11), and would seek to the keyframe before their
    // first frame (keyframes every 5 frames) if it were not there.
    expect(calls.map((c) => c.plan.runs)).toEqual([
      [{ start: -1, keep: [0, 1, 2, 3, 4, 5] }],
      [{ start: -1, keep: [6, 7, 8, 9, 10, 11], orSeek: 5, from: 5 }],
      [{ start: -1, keep: [12, 13, 14, 15, 16, 17], orSeek: 10, from: 11 }],
    ]);
    await pool.close();
  });
});
