import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { BatchDataLoader, InvalidArgumentError, VideoDataset, VideoLoaderPool, asyncDataset, listBackends, slidingClips } from '@tvl/core';
import { registerBackend, startClipBatch, unregisterBackend, type DecodeRequest, type FrameProcessing } from '@tvl/core/backend';
import { fakeBackend } from './fake-backend.js';

afterEach(() => {
  for (const b of listBackends()) unregisterBackend(b.name);
});

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('VideoLoaderPool', () => {
  it('never opens more loaders than its slots, and serves callers in arrival order', async () => {
    const stats = { open: 0, peak: 0 };
    registerBackend(fakeBackend('fake', [], { decodeMs: 5, stats }));
    const pool = new VideoLoaderPool({ slots: { cpu: 3 } });
    const started: number[] = [];
    const jobs = Array.from({ length: 12 }, (_, k) =>
      pool.withLoader(`clip-${k % 3}.mp4`, async (vl) => {
        started.push(k);
        const [f] = await vl.selectRawFrames([k % 10]);
        expect(pool.active.cpu).toBeLessThanOrEqual(3);
        return f.data[0];
      }),
    );
    expect(pool.waiting).toBe(9);
    const values = await Promise.all(jobs);
    expect(values).toEqual(Array.from({ length: 12 }, (_, k) => 100 * (k % 3) + (k % 10)));
    expect(started).toEqual(Array.from({ length: 12 }, (_, k) => k));
    expect(stats.peak).toBe(3);
    expect(pool.peakActive).toBe(3);
    await pool.close();
    expect(stats.open).toBe(0); // every loader closed
    expect(pool.active).toEqual({ cpu: 0 });
  });

  it('keeps loaders open for the next caller of the same file, within the slots, rewound to frame 0', async () => {
    const stats = { open: 0, peak: 0, opened: 0 };
    registerBackend(fakeBackend('fake', [], { stats }));
    const pool = new VideoLoaderPool({ slots: { cpu: 2 } });
    for (let k = 0; k < 5; k++) {
      const first = await pool.withLoader('clip-1.mp4', async (vl) => {
        const f = await vl.readFrame();
        const v = f.dataSync()[0];
        f.dispose();
        return v;
      });
      expect(first).toBeCloseTo(100 / 255, 6); // frame 0 every time, not where the last caller left it
    }
    expect(stats.opened).toBe(1);
    for (const file of ['clip-2.mp4', 'clip-0.mp4', 'clip-1.mp4']) await pool.withLoader(file, () => 0);
    expect(stats.opened).toBe(4); // clip-1 was evicted to make room for clip-0
    expect(stats.peak).toBe(2);
    expect(pool.idleLoaders).toBe(2);
    await pool.close();
    expect(stats.open).toBe(0);
  });

  it('spreads work over devices and keeps a device-bound caller waiting for its device', async () => {
    registerBackend(fakeBackend('cpu-fake', [], { decodeMs: 5 }));
    registerBackend(fakeBackend('gpu-fake', [], { decodeMs: 5, device: 'cuda' }));
    const pool = new VideoLoaderPool({ slots: { 'cuda:0': 1, cpu: 1 } });
    const devices: string[] = [];
    await Promise.all([
      pool.withLoader('a.mp4', async (vl) => {
        devices.push(`a:${vl.backend}`);
        await vl.selectRawFrames([0]);
      }),
      pool.withLoader('b.mp4', async (vl) => {
        devices.push(`b:${vl.backend}`);
        await vl.selectRawFrames([0]);
      }),
      pool.withLoader(
        'c.mp4',
        async (vl) => {
          devices.push(`c:${vl.backend}`);
        },
        { device: 'cuda' },
      ),
    ]);
    expect(
      devices
        .slice(0, 2)
        .map((d) => d.split(':')[1])
        .sort(),
    ).toEqual(['cpu-fake', 'gpu-fake']);
    expect(devices[2]).toBe('c:gpu-fake');
    await expect(pool.withLoader('d.mp4', () => 0, { device: 'cuda:1' })).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
  });

  it('frees the slot when the callback throws or the open fails, and aborts a waiting caller', async () => {
    registerBackend(fakeBackend('fake', [], { decodeMs: 20 }));
    const pool = new VideoLoaderPool({ slots: { cpu: 1 } });
    await expect(
      pool.withLoader('x.mp4', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(pool.withLoader('missing.mp4', () => 0)).rejects.toMatchObject({ code: 'TVL_FILE_NOT_FOUND' });
    const busy = pool.withLoader('x.mp4', (vl) => vl.selectRawFrames([1]));
    const controller = new AbortController();
    const waiting = pool.withLoader('y.mp4', () => 'ran', { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'TVL_ABORTED' });
    await busy;
    expect(await pool.withLoader('z.mp4', () => 'free again')).toBe('free again');
  });
});

describe('VideoDataset and BatchDataLoader', () => {
  const clips = () => [0, 1, 2].flatMap((v) => slidingClips(`clip-${v}.mp4`, 10, 2, { stride: 2, step: 5, label: v }));

  it('slidingClips spaces clips by step with frames stride apart', () => {
    expect(slidingClips('v.mp4', 10, 3, { stride: 2, step: 4 }).map((c) => c.frames)).toEqual([
      [0, 2, 4],
      [4, 6, 8],
    ]);
  });

  it('loads clips as [T, H, W, C] and batches them as [B, T, H, W, C] in order', async () => {
    registerBackend(fakeBackend('fake'));
    const ds = new VideoDataset(clips(), { loaderOptions: { dtype: 'int32' } });
    expect(ds.length).toBe(6);
    const loader = new BatchDataLoader(ds, { batchSize: 4 });
    expect(loader.length).toBe(2);
    const seen: number[][] = [];
    for await (const batch of loader) {
      expect(batch.data.shape.slice(1)).toEqual([2, 2, 4, 3]);
      const firstPixels = tf.slice(batch.data, [0, 0, 0, 0, 0], [-1, -1, 1, 1, 1]).dataSync();
      seen.push(Array.from(firstPixels));
      expect(batch.items.map((c) => c.spec.label)).toEqual(batch.indices.map((i) => ds.clips[i].label));
      batch.data.dispose();
    }
    // clip-v frames [0, 2] and [5, 7]: pixel = 100 v + frame.
    expect(seen).toEqual([
      [0, 2, 5, 7, 100, 102, 105, 107],
      [200, 202, 205, 207],
    ]);
  });

  it('shuffles reproducibly per seed and epoch, and shards evenly across ranks', () => {
    const ds = asyncDataset(10, async (i) => tf.scalar(i));
    const a = new BatchDataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 });
    const b = new BatchDataLoader(ds, { batchSize: 3, shuffle: true, seed: 7 });
    expect(a.order(0)).toEqual(b.order(0));
    expect(a.order(0)).not.toEqual(a.order(1));
    expect([...a.order(0)].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const shards = [0, 1, 2].map((rank) => new BatchDataLoader(ds, { batchSize: 2, shuffle: true, seed: 7, rank, worldSize: 3 }).order(4));
    expect(shards.map((s) => s.length)).toEqual([3, 3, 3]);
    expect(new Set(shards.flat()).size).toBe(9);
    expect(new BatchDataLoader(ds, { batchSize: 4, dropLast: true }).length).toBe(2);
    expect(() => new BatchDataLoader(ds, { batchSize: 2, rank: 3, worldSize: 3 })).toThrow(
      expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }),
    );
  });

  it('keeps at most prefetch + 1 batches loading while the caller is busy', async () => {
    let loading = 0;
    let peak = 0;
    const ds = asyncDataset(20, async (i) => {
      loading++;
      peak = Math.max(peak, loading);
      await new Promise((r) => setTimeout(r, 2));
      loading--;
      return tf.scalar(i);
    });
    const loader = new BatchDataLoader(ds, { batchSize: 2, prefetch: 2 });
    let batches = 0;
    for await (const batch of loader) {
      await new Promise((r) => setTimeout(r, 15)); // "training"
      batch.data.dispose();
      batches++;
    }
    expect(batches).toBe(10);
    expect(peak).toBeLessThanOrEqual(2 * 3);
  });

  it('disposes what it loaded but did not hand out when the loop stops early', async () => {
    const ds = asyncDataset(12, async (i) => tf.scalar(i));
    const before = tf.memory().numTensors;
    for await (const batch of new BatchDataLoader(ds, { batchSize: 2, prefetch: 3 })) {
      batch.data.dispose();
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a transform runs on each clip of a batch decoded whole (one native call per file), with nothing left behind', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls));
    const before = tf.memory().numTensors;
    const ds = new VideoDataset(clips(), {
      loaderOptions: { dtype: 'int32' },
      // The first frame of each clip, doubled: [1, H, W, C] (its slice freed by the tf.tidy around it).
      transform: (clip) => tf.mul(tf.slice(clip, [0], [1]), 2),
    });
    const seen: number[][] = [];
    for await (const batch of new BatchDataLoader(ds, { batchSize: 4 })) {
      expect(batch.data.shape.slice(1)).toEqual([1, 2, 4, 3]);
      seen.push(Array.from(tf.tidy(() => tf.slice(batch.data, [0, 0, 0, 0, 0], [-1, 1, 1, 1, 1]).dataSync())));
      batch.data.dispose();
    }
    expect(seen).toEqual([
      [0, 10, 200, 210],
      [400, 410],
    ]);
    expect(calls.length).toBe(3); // batch 1: clip-0 and clip-1, one call each; batch 2: clip-2
    await ds.close();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reuseMemory: a disposed batch memory is written again, never while a tensor holds it', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls));
    // 8 clips of clip-0 frames [k, k + 1]: batches of 2, all of one size.
    const ds = new VideoDataset(
      Array.from({ length: 8 }, (_, k) => ({ path: 'clip-0.mp4', frames: [k, k + 1] })),
      { loaderOptions: { dtype: 'int32' } },
    );
    const memoryOf = (t: tf.Tensor) => (t.dataSync() as Int32Array).buffer;
    const firstPixels = (t: tf.Tensor) => Array.from(tf.tidy(() => tf.slice(t, [0, 0, 0, 0, 0], [-1, -1, 1, 1, 1]).dataSync()));

    // Disposed at once: with prefetch 0, the next batch is written into the same memory.
    const loader = new BatchDataLoader(ds, { batchSize: 2, prefetch: 0, reuseMemory: true });
    const memories: ArrayBufferLike[] = [];
    const seen: number[][] = [];
    for await (const batch of loader) {
      memories.push(memoryOf(batch.data));
      seen.push(firstPixels(batch.data));
      batch.data.dispose();
    }
    expect(seen).toEqual([
      [0, 1, 1, 2],
      [2, 3, 3, 4],
      [4, 5, 5, 6],
      [6, 7, 7, 8],
    ]);
    expect(new Set(memories).size).toBeLessThan(memories.length);
    // The batch buffers are the calls' own buffers: the backend wrote the reused memory.
    expect(calls.every((c) => c.buffers.every((b) => memories.includes(b.buffer)))).toBe(true);

    // Kept (a clone shares the data, so disposing the batch alone does not free it): never reused.
    const kept: tf.Tensor[] = [];
    const keptMemories = new Set<ArrayBufferLike>();
    for await (const batch of new BatchDataLoader(ds, { batchSize: 2, prefetch: 0, reuseMemory: true })) {
      keptMemories.add(memoryOf(batch.data));
      kept.push(batch.data.clone());
      batch.data.dispose();
    }
    expect(keptMemories.size).toBe(4);
    expect(kept.map(firstPixels)).toEqual(seen);
    tf.dispose(kept);

    // Off (the default): new memory every batch.
    const fresh = new Set<ArrayBufferLike>();
    for await (const batch of new BatchDataLoader(ds, { batchSize: 2, prefetch: 0 })) {
      fresh.add(memoryOf(batch.data));
      batch.data.dispose();
    }
    expect(fresh.size).toBe(4);

    // With a transform, the decoded batch is freed once transformed: its memory is reused at once.
    const transformed = new VideoDataset(ds.clips, { loaderOptions: { dtype: 'int32' }, transform: (clip) => tf.add(clip, 1) });
    calls.length = 0;
    const seenTransformed: number[][] = [];
    for await (const batch of new BatchDataLoader(transformed, { batchSize: 2, prefetch: 0, reuseMemory: true })) {
      seenTransformed.push(firstPixels(batch.data));
      batch.data.dispose();
    }
    expect(seenTransformed).toEqual(seen.map((b) => b.map((v) => v + 1)));
    expect(new Set(calls.map((c) => c.buffers[0].buffer)).size).toBe(1);
    await transformed.close();

    expect(() => new BatchDataLoader(ds, { batchSize: 2, reuseMemory: 1 as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT', message: expect.stringContaining('reuseMemory') }),
    );
    await ds.close();
  });

  it('a transform that fails or makes clips of different shapes: typed errors naming the clip', async () => {
    registerBackend(fakeBackend('fake'));
    const before = tf.memory().numTensors;
    const run = async (transform: (clip: tf.Tensor4D, spec: { path: string }) => tf.Tensor4D) => {
      const ds = new VideoDataset(clips(), { transform });
      try {
        for await (const b of new BatchDataLoader(ds, { batchSize: 4 })) b.data.dispose();
      } finally {
        await ds.close();
      }
    };
    await expect(
      run((clip, spec) => {
        if (spec.path === 'clip-1.mp4') throw new InvalidArgumentError('no thanks'); // (the third of four: one is left after it)
        return tf.clone(clip);
      }),
    ).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      itemIndex: 2,
      message: 'dataset item 2 (clip-1.mp4 frames [0, 2]): no thanks',
    });
    await expect(run((clip, spec) => (spec.path === 'clip-1.mp4' ? tf.slice(clip, [0], [1]) : tf.clone(clip)))).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringMatching(/transform made \[2,2,4,3\] float32 of clip-0.mp4 .* and \[1,2,4,3\] float32 of clip-1.mp4/),
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the clip that failed, with the original code', async () => {
    registerBackend(fakeBackend('fake'));
    const ds = new VideoDataset([
      { path: 'clip-1.mp4', frames: [0, 1] },
      { path: 'missing-2.mp4', frames: [3, 4] },
    ]);
    const run = async () => {
      for await (const b of new BatchDataLoader(ds, { batchSize: 2 })) b.data.dispose();
    };
    await expect(run()).rejects.toMatchObject({
      code: 'TVL_FILE_NOT_FOUND',
      itemIndex: 1,
      message: expect.stringContaining('missing-2.mp4 frames [3, 4]'),
    });
  });

  it('stops with TVL_ABORTED when its signal fires', async () => {
    const controller = new AbortController();
    const ds = asyncDataset(10, async (i) => tf.scalar(i));
    const loader = new BatchDataLoader(ds, { batchSize: 1, signal: controller.signal });
    const run = async () => {
      for await (const b of loader) {
        b.data.dispose();
        controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'TVL_ABORTED' });
  });
});

describe('startClipBatch (the batch path of VideoDataset and nvvl sequences)', () => {
  const processing = (cropX: number): FrameProcessing => ({
    resizeWidth: 4,
    resizeHeight: 2,
    cropX,
    cropY: 0,
    flip: false,
    interpolation: 'bilinear',
    colourSpace: 'rgb',
  });
  const describeClip = (b: number) => `clip ${b}`;

  it('fused processing: one native call per file and processing, frames in their slots, the spec it names', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fusing', calls, { fusesProcessing: true }));
    const pool = new VideoLoaderPool({ slots: { cpu: 2 } });
    const clips = [
      { path: 'a1.mp4', frames: [3, 4] },
      { path: 'b2.mp4', frames: [0, 1] },
      { path: 'a1.mp4', frames: [7, 8] },
      { path: 'a1.mp4', frames: [1, 2] },
    ];
    const spec = { width: 2, height: 2, dtype: 'int32' as const, layout: 'hwc' as const };
    // Clips 0 and 3 share a crop: one call for both; clip 2 has its own.
    const { started, done } = startClipBatch(clips, {
      pool,
      signal: new AbortController().signal,
      describe: describeClip,
      processed: (b) => ({ spec, processing: processing(b === 2 ? 1 : 0) }),
    });
    await started;
    expect(calls.length).toBe(3); // started before `started` resolved
    const { data, sources } = await done;
    expect(data.shape).toEqual([4, 2, 2, 2, 3]);
    const values = data.dataSync();
    const per = 2 * 2 * 3;
    expect(Array.from({ length: 8 }, (_, k) => values[k * per])).toEqual([103, 104, 200, 201, 107, 108, 101, 102]);
    expect(calls.map((c) => [c.processing?.cropX, c.plan.runs.flatMap((r) => r.keep)])).toEqual([
      [0, [1, 2, 3, 4]],
      [1, [7, 8]],
      [0, [0, 1]],
    ]);
    expect(calls.every((c) => c.output.width === 2 && c.output.dtype === 'int32')).toBe(true);
    expect(sources).toEqual(Array(4).fill({ backend: 'fusing', device: 'cpu' }));
    data.dispose();
    await pool.close();
  });

  it('a backend that does not fuse processing refuses it, naming the item', async () => {
    registerBackend(fakeBackend('plain'));
    const pool = new VideoLoaderPool();
    const spec = { width: 2, height: 2, dtype: 'float32' as const, layout: 'hwc' as const };
    const { done } = startClipBatch([{ path: 'a.mp4', frames: [0] }], {
      pool,
      signal: new AbortController().signal,
      describe: describeClip,
      itemName: (b) => ({ index: b, noun: 'sequence' }),
      processed: () => ({ spec, processing: processing(0) }),
    });
    await expect(done).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringMatching(/^sequence 0 \(clip 0\): backend 'plain' does not fuse resize, crop, flip and normalise/),
    });
    await pool.close();
  });

  it('clips of different lengths or sizes, and an empty batch, are typed errors naming the clips', async () => {
    registerBackend(fakeBackend('plain'));
    const pool = new VideoLoaderPool();
    const signal = new AbortController().signal;
    expect(() => startClipBatch([], { pool, signal, describe: describeClip })).toThrow(/at least one clip/);
    expect(() =>
      startClipBatch(
        [
          { path: 'a.mp4', frames: [0] },
          { path: 'a.mp4', frames: [0, 1] },
        ],
        { pool, signal, describe: describeClip },
      ),
    ).toThrow(/clip 0 has 1 frames and clip 1 has 2/);
    const sized = (b: number) => ({
      spec: { width: 2 + b, height: 2, dtype: 'float32' as const, layout: 'hwc' as const },
      processing: processing(0),
    });
    registerBackend(fakeBackend('fusing', [], { fusesProcessing: true }));
    const { done } = startClipBatch(
      [
        { path: 'a.mp4', frames: [0] },
        { path: 'b.mp4', frames: [0] },
      ],
      { pool, signal, describe: describeClip, processed: sized },
    );
    await expect(done).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringMatching(
        /^dataset item 1 \(clip 1\): a batch needs frames of one size, but clip 0 gives 2x2 and clip 1 gives 3x2/,
      ),
    });
    await pool.close();
  });
});
