/**
 * nvvl's CPU path: the same code as its GPU path except where the kernel runs, here with
 * NVDEC's surface layout emulated (NV12/P016), so what this checks is the GPU's conversion maths:
 * exact frames across the conformance clips, colour parity with @tvl/libav (swscale), sequences
 * (stride, flip, crop, normalise) against core's transforms on libav frames, and typed errors.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { VideoLoader } from '@tvl/core';
import {
  FUSED_PROCESSING_CASE,
  fusedProcessingError,
  makeColourClip,
  makeIndexedClip,
  psnr,
  readFrameCode,
  runConformanceSuite,
} from '@tvl/testkit';
import '@tvl/libav';
import { SequenceLoader, loadSequences } from '@tvl/nvvl';

// The CPU path with NVDEC's surface layout (see src/emulate.ts).
const EMULATE_NVDEC_SURFACE = Symbol.for('@tvl/nvvl.emulateNvdecSurface');
const emulateSurface: object = { [EMULATE_NVDEC_SURFACE]: true };
const emulate = { backendOptions: emulateSurface as Record<string, unknown> };

// The kernel samples chroma bilinearly where swscale filters it: a little off the CLI's pixels.
runConformanceSuite({ backend: 'nvvl', device: 'cpu', openOptions: emulate, cliTolerance: 2 });

describe('colour parity with @tvl/libav (PSNR, dB)', () => {
  const cases = (['natural', 'smptebars'] as const).flatMap((source) =>
    (['bt601', 'bt709'] as const).flatMap((matrix) => (['limited', 'full'] as const).map((range) => ({ source, matrix, range }))),
  );

  it.each(cases)('$source $matrix $range: at least 40 dB, planar and NVDEC layouts', async ({ source, matrix, range }) => {
    const file = makeColourClip(source, matrix, range);
    const frames = [0, 5, 11];
    const ref = await VideoLoader.open(file, { backend: 'libav' });
    const ours = await VideoLoader.open(file, { backend: 'nvvl', device: 'cpu' });
    const emulated = await VideoLoader.open(file, { backend: 'nvvl', device: 'cpu', ...emulate });
    try {
      expect([ours.info.colourMatrix, ours.info.colourRange]).toEqual([matrix, range]);
      const a = await ref.selectRawFrames(frames);
      for (const vl of [ours, emulated]) {
        const b = await vl.selectRawFrames(frames);
        b.forEach((f, k) => expect(psnr(f.data, a[k].data)).toBeGreaterThanOrEqual(40));
      }
    } finally {
      await Promise.all([ref.close(), ours.close(), emulated.close()]);
    }
  });

  it('HEVC 10-bit (P016 on NVDEC) agrees with libav too', async () => {
    const file = makeIndexedClip({ codec: 'hevc10', container: 'mkv', frames: 10 });
    const ref = await VideoLoader.open(file, { backend: 'libav' });
    const ours = await VideoLoader.open(file, { backend: 'nvvl', device: 'cpu', ...emulate });
    try {
      const [a] = await ref.selectRawFrames([4]);
      const [b] = await ours.selectRawFrames([4]);
      expect(psnr(b.data, a.data)).toBeGreaterThanOrEqual(40);
    } finally {
      await Promise.all([ref.close(), ours.close()]);
    }
  });
});

describe('loadSequences on the CPU path', () => {
  let clip = '';
  beforeAll(() => {
    clip = makeIndexedClip({ codec: 'h264', container: 'mkv', frames: 60, gop: 12, bframes: 2 });
  });

  it('[B, T, H, W, C] of exactly the frames asked for, with strides, in any batch order', async () => {
    const loader = new SequenceLoader({ device: 'cpu', ...emulateSurface });
    try {
      const batch = await loader.load(
        [
          { path: clip, start: 40, count: 4, stride: 3 },
          { path: clip, start: 2, count: 4 },
          { path: clip, start: 0, count: 4, stride: 15 },
        ],
        { dtype: 'int32' },
      );
      expect(batch.tensor.shape).toEqual([3, 4, 120, 160, 3]);
      expect(batch.tensor.dtype).toBe('int32');
      expect(batch.devices).toEqual(['cpu', 'cpu', 'cpu']);
      const data = batch.tensor.dataSync();
      const per = 120 * 160 * 3;
      const codes = Array.from({ length: 12 }, (_, k) => readFrameCode(data.subarray(k * per, (k + 1) * per), 160, 120, { scale: 255 }));
      expect(codes).toEqual([40, 43, 46, 49, 2, 3, 4, 5, 0, 15, 30, 45]);
      batch.tensor.dispose();
      expect(loader.openVideos).toBe(1);
    } finally {
      await loader.close();
    }
  });

  it('a batch over more videos than maxOpenVideos: each sequence decoded while its video is open', async () => {
    const other = makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 30 });
    const loader = new SequenceLoader({ device: 'cpu', maxOpenVideos: 1 });
    try {
      const batch = await loader.load(
        [
          { path: clip, start: 7, count: 2 },
          { path: other, start: 20, count: 2 },
          { path: clip, start: 50, count: 2 },
        ],
        { dtype: 'int32' },
      );
      const data = batch.tensor.dataSync();
      const per = 120 * 160 * 3;
      const codes = Array.from({ length: 6 }, (_, k) => readFrameCode(data.subarray(k * per, (k + 1) * per), 160, 120, { scale: 255 }));
      expect(codes).toEqual([7, 8, 20, 21, 50, 51]);
      expect(loader.openVideos).toBe(1);
      batch.tensor.dispose();
    } finally {
      await loader.close();
    }
  });

  it('reuseMemory: a disposed batch memory holds the next batch, exactly; a kept one is never overwritten', async () => {
    const loader = new SequenceLoader({ device: 'cpu', reuseMemory: true });
    const per = 120 * 160 * 3;
    const codesOf = (t: tf.Tensor) => {
      const data = t.dataSync();
      return Array.from({ length: data.length / per }, (_, k) =>
        readFrameCode(data.subarray(k * per, (k + 1) * per), 160, 120, { scale: 255 }),
      );
    };
    try {
      const memories: ArrayBufferLike[] = [];
      const codes: number[][] = [];
      let kept: tf.Tensor | undefined;
      for await (const batch of loader.batches(
        [0, 10, 20, 30].map((start) => [{ path: clip, start, count: 3 }]),
        { dtype: 'int32' },
        { prefetch: 0 },
      )) {
        memories.push(batch.tensor.dataSync().buffer);
        codes.push(codesOf(batch.tensor));
        // The second batch is kept: the third must not be written over it.
        if (codes.length === 2) kept = batch.tensor;
        else batch.tensor.dispose();
      }
      expect(codes).toEqual([
        [0, 1, 2],
        [10, 11, 12],
        [20, 21, 22],
        [30, 31, 32],
      ]);
      expect(memories[1]).toBe(memories[0]);
      expect(memories[2]).not.toBe(memories[1]);
      expect(codesOf(kept!)).toEqual([10, 11, 12]);
      kept!.dispose();
      expect(() => new SequenceLoader({ device: 'cpu', reuseMemory: 'yes' as unknown as boolean })).toThrow(
        expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }),
      );
    } finally {
      await loader.close();
    }
  });

  it('fused resize, crop, flip and normalise match core transforms on libav frames', async () => {
    const { start, count, processing } = FUSED_PROCESSING_CASE;
    const natural = makeColourClip('natural', 'bt709', 'limited');
    const fused = await loadSequences([{ path: natural, start, count }], processing, { device: 'cpu', ...emulateSurface });
    try {
      // In [0, 1] units before normalising (measured 2026-11-24: mean 0.0072, max 0.38). The kernel
      // resizes luma bilinearly and picks chroma by block; core resizes RGB that swscale made, so
      // saturated edges (testsrc2's colour bars) differ most.
      const { meanAbs, maxAbs } = await fusedProcessingError(fused, natural);
      expect(meanAbs).toBeLessThan(0.01);
      expect(maxAbs).toBeLessThan(0.5);
    } finally {
      fused.dispose();
    }
  });

  it('chw layout and YCbCr output', async () => {
    const loader = new SequenceLoader({ device: 'cpu' });
    try {
      const rgb = await loader.load([{ path: clip, start: 0, count: 2 }], { layout: 'chw' });
      expect(rgb.tensor.shape).toEqual([1, 2, 3, 120, 160]);
      const ycbcr = await loader.load([{ path: clip, start: 0, count: 2 }], { colourSpace: 'ycbcr', dtype: 'int32' });
      // Grey pixels: Cb and Cr at the neutral 128, whatever Y is.
      const px = tf.slice(ycbcr.tensor, [0, 0, 60, 80, 0], [1, 1, 1, 1, 3]).dataSync();
      expect(Math.abs(px[1] - 128)).toBeLessThanOrEqual(2);
      expect(Math.abs(px[2] - 128)).toBeLessThanOrEqual(2);
      tf.dispose([rgb.tensor, ycbcr.tensor]);
    } finally {
      await loader.close();
    }
  });

  it('typed errors: out of range, mixed sizes, no GPU (and fallback)', async () => {
    const other = makeIndexedClip({ codec: 'h264', container: 'mp4', width: 96, height: 64, frames: 10 });
    const loader = new SequenceLoader({ device: 'cpu' });
    try {
      await expect(loader.load([{ path: clip, start: 58, count: 3 }])).rejects.toMatchObject({
        code: 'TVL_INDEX_OUT_OF_RANGE',
        frameIndex: 60,
        message: expect.stringMatching(/^sequence 0 \(.* start 58, count 3, stride 1\): Frame index 60 is out of range: .* has 60 frames/),
      });
      await expect(
        loader.load([
          { path: clip, start: 0, count: 2 },
          { path: other, start: 0, count: 2 },
        ]),
      ).rejects.toMatchObject({
        code: 'TVL_INVALID_ARGUMENT',
        message: expect.stringMatching(
          /^sequence 1 .*gives 96x64: give every clip one output size \(outWidth and outHeight, or a resize\)/,
        ),
      });
      const ok = await loader.load(
        [
          { path: clip, start: 0, count: 2 },
          { path: other, start: 0, count: 2 },
        ],
        { resize: { width: 32, height: 32 } },
      );
      expect(ok.tensor.shape).toEqual([2, 2, 32, 32, 3]);
      ok.tensor.dispose();
    } finally {
      await loader.close();
    }
    await expect(loadSequences([{ path: clip, start: 0, count: 2 }], {}, { device: 'cuda' })).rejects.toMatchObject({
      code: 'TVL_NO_CUDA_DEVICE',
    });
    await expect(VideoLoader.open(clip, { backend: 'nvvl', device: 'cuda:1' })).rejects.toMatchObject({ code: 'TVL_NO_CUDA_DEVICE' });
    const gpu = new SequenceLoader({ device: 'cuda', fallback: 'cpu' });
    const batch = await gpu.load([{ path: clip, start: 0, count: 2 }]);
    expect(batch.devices).toEqual(['cpu']);
    expect(batch.fallbackReasons[0]).toMatch(/^cuda:0 cannot decode .* \(TVL_NO_CUDA_DEVICE\)/);
    batch.tensor.dispose();
    await gpu.close();
  });

  it('batches(): bounded prefetch, reproducible augmentation, nothing left behind on break or abort', async () => {
    const loader = new SequenceLoader({ device: 'cpu', maxOpenVideos: 1 });
    const before = tf.memory().numTensors;
    let pulled = 0;
    function* specs() {
      for (let i = 0; i < 10; i++) {
        pulled++;
        yield [{ path: clip, start: i, count: 2 }];
      }
    }
    const processing = { resize: { width: 40, height: 30 }, crop: { width: 32, height: 24, random: true }, flip: 0.5, seed: 3 };
    const seen: string[] = [];
    for await (const b of loader.batches(specs(), processing, { prefetch: 2 })) {
      expect(pulled - seen.length).toBeLessThanOrEqual(3); // the one handed out + 2 ahead
      seen.push(JSON.stringify(b.augmentation));
      b.tensor.dispose();
      if (seen.length === 4) break;
    }
    await loader.close();
    expect(tf.memory().numTensors).toBe(before);
    const again = new SequenceLoader({ device: 'cpu' });
    const first = await again.load([{ path: clip, start: 0, count: 2 }], processing);
    expect(JSON.stringify(first.augmentation)).toBe(seen[0]);
    first.tensor.dispose();
    const controller = new AbortController();
    const it = again.batches(specs(), processing, { signal: controller.signal });
    (await it.next()).value!.tensor.dispose();
    controller.abort();
    await expect(it.next()).rejects.toMatchObject({ code: 'TVL_ABORTED' });
    await again.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(tf.memory().numTensors).toBe(before);
  });
});
