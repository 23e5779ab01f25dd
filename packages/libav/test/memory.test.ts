/**
 * Native memory is bounded and freed: opening, decoding and closing many loaders must not grow
 * the process without bound. (A leaked decoder with its frame pools is megabytes; 150 of them
 * would be hundreds.)
 */
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';
import { makeIndexedClip, readFrameCode, sourceClip } from '@tvl/testkit';
import '@tvl/libav';

it('open + decode + close 150 times keeps RSS bounded', async () => {
  const file = sourceClip();
  const cycle = async () => {
    const vl = await VideoLoader.open(file);
    await vl.selectRawFrames([0, 40, 99]);
    await vl.close();
  };
  for (let i = 0; i < 20; i++) await cycle(); // warm up allocators and caches
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 150; i++) await cycle();
  const growthMiB = (process.memoryUsage().rss - before) / 2 ** 20;
  expect(growthMiB).toBeLessThan(150);
});

it('writes frames into memory that is already mapped, not fresh pages for every frame', async () => {
  // 60 float32 frames of 1280x720 are 660 MB: 160,000 page faults if each came fresh from the
  // kernel in 4 KiB pages. Buffers come from pages kept mapped between uses (and huge pages).
  const file = makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 60, width: 1280, height: 720, gop: 30 });
  const vl = await VideoLoader.open(file, { threads: 2 });
  try {
    await vl.readFrames(4).then((ts) => ts.forEach((t) => t.dispose())); // decoder and pools warm
    const before = process.resourceUsage().minorPageFault;
    for await (const t of vl.remainingFrames()) t.dispose();
    const faults = process.resourceUsage().minorPageFault - before;
    const freshPages = (56 * 1280 * 720 * 3 * 4) / 4096;
    expect(faults).toBeLessThan(freshPages / 4);
  } finally {
    await vl.close();
  }
});

it('reuseMemory: streaming writes frames into the memory of frames disposed, within three chunks of buffers, exactly', async () => {
  const file = makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 60, width: 320, height: 240, gop: 30 });
  const distinctMemory = async (reuseMemory: boolean) => {
    const vl = await VideoLoader.open(file, { reuseMemory, dtype: 'int32' });
    try {
      const memories = new Set<ArrayBufferLike>();
      const codes: number[] = [];
      for await (const t of vl.remainingFrames()) {
        const data = t.dataSync() as Int32Array;
        memories.add(data.buffer);
        codes.push(readFrameCode(data, 320, 240, { scale: 255 }));
        t.dispose();
      }
      expect(codes).toEqual(Array.from({ length: 60 }, (_, i) => i));
      return memories.size;
    } finally {
      await vl.close();
    }
  };
  expect(await distinctMemory(false)).toBe(60);
  // Chunks of 8 frames, one decoding ahead while one is handed out: 3 chunks of buffers at most.
  expect(await distinctMemory(true)).toBeLessThanOrEqual(24);
});
