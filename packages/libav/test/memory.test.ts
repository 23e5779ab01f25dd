/**
 * Native memory is bounded and freed: opening, decoding and closing many loaders must not grow
 * the process without bound. (A leaked decoder with its frame pools is megabytes; 150 of them
 * would be hundreds.)
 */
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';
import { sourceClip } from '@tvl/testkit';
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
