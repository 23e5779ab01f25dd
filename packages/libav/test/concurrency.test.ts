/**
 * Decoding runs on libuv worker threads: several loaders decode at once. Four loaders running
 * concurrently (on different clips and on the same clip) must return exactly what each returns
 * alone.
 */
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader, VideoLoaderPool } from '@tvl/core';
import { makeIndexedClip, randomRequest, readFrameCode } from '@tvl/testkit';
import '@tvl/libav';

const clips = () => [
  makeIndexedClip({ codec: 'h264', container: 'mp4', bframes: 3 }),
  makeIndexedClip({ codec: 'h264', container: 'mkv', frames: 150, gop: 120 }),
  makeIndexedClip({ codec: 'hevc', container: 'mp4' }),
  makeIndexedClip({ codec: 'vp9', container: 'webm' }),
];

/** The frame codes decoded for a random request, and the request. */
async function decode(file: string, seed: number): Promise<{ codes: number[]; request: number[] }> {
  const vl = await VideoLoader.open(file, { backend: 'libav', threads: 1 });
  try {
    const request = randomRequest(vl.nFrames, seed);
    const frames = await vl.selectRawFrames(request);
    return { codes: frames.map((f) => readFrameCode(f.data, f.width, f.height)), request };
  } finally {
    await vl.close();
  }
}

it('4 loaders at once return the same frames as one at a time', async () => {
  const files = clips();
  const jobs = [...files.map((f, k) => [f, k] as const), [files[0], 9] as const];
  const alone: { codes: number[]; request: number[] }[] = [];
  for (const [file, seed] of jobs) alone.push(await decode(file, seed));
  const together = await Promise.all(jobs.map(([file, seed]) => decode(file, seed)));
  expect(together).toEqual(alone);
  for (const { codes, request } of alone) expect(codes).toEqual(request);
});

it('a pool of 2 CPU slots decodes every clip exactly', async () => {
  const pool = new VideoLoaderPool({ slots: { cpu: 2 }, loaderOptions: { backend: 'libav', threads: 1 } });
  const codes = await Promise.all(
    clips().map((file) =>
      pool.withLoader(file, async (vl) => {
        const frames = await vl.selectRawFrames([vl.nFrames - 1, 0, 7]);
        return frames.map((f) => readFrameCode(f.data, f.width, f.height)).concat(vl.nFrames);
      }),
    ),
  );
  for (const [last, first, seventh, n] of codes) expect([last, first, seventh]).toEqual([n - 1, 0, 7]);
  expect(pool.peakActive).toBe(2);
});
