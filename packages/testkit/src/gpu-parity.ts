/**
 * What a GPU backend must agree with @tvl/libav on, beyond exact frames (the conformance suite):
 * colours (PSNR >= 40 dB on natural and colour-bar clips, BT.601/709, limited/full), a 10-bit
 * stream resized into float32 tensors, and several loaders decoding at once. The test file must
 * import '@tvl/libav' and the backend.
 *
 *   runGpuParitySuite({ backend: 'nvdec', device: 'cuda', deepClip: { codec: 'hevc10', container: 'mkv' } });
 */
import * as tf from '@tensorflow/tfjs-core';
import { crop, flip, normalise, resize, VideoLoader } from '@tvl/core';
import { randomRequest } from './checks.js';
import { makeColourClip, makeIndexedClip, psnr, readFrameCode, type ClipSpec } from './media.js';

export interface GpuParityOptions {
  backend: string;
  /** 'cuda' or 'cuda:N'. */
  device: string;
  /** Codecs of the colour clips (default H.264 only). */
  colourCodecs?: ('h264' | 'vp9')[];
  /** The 10-bit clip read resized into float32 tensors. */
  deepClip: ClipSpec;
}

export function runGpuParitySuite(options: GpuParityOptions): void {
  const open = (file: string, extra: Record<string, unknown> = {}) =>
    VideoLoader.open(file, { device: options.device, backend: options.backend, ...extra });

  describe(`parity with libav: ${options.backend} on ${options.device}`, () => {
    const colourCases = (options.colourCodecs ?? ['h264']).flatMap((codec) =>
      (['natural', 'smptebars'] as const).flatMap((source) =>
        (['bt601', 'bt709'] as const).flatMap((matrix) =>
          (['limited', 'full'] as const).map((range) => ({ codec, source, matrix, range })),
        ),
      ),
    );

    it.each(colourCases)('colours: $codec $source $matrix $range, at least 40 dB', async ({ codec, source, matrix, range }) => {
      const file = makeColourClip(source, matrix, range, codec);
      const ref = await VideoLoader.open(file, { backend: 'libav' });
      const vl = await open(file);
      try {
        expect([vl.info.colourMatrix, vl.info.colourRange]).toEqual([matrix, range]);
        const a = await ref.selectRawFrames([0, 5, 11]);
        const b = await vl.selectRawFrames([0, 5, 11]);
        b.forEach((f, k) => expect(psnr(f.data, a[k].data)).toBeGreaterThanOrEqual(40));
      } finally {
        await Promise.all([ref.close(), vl.close()]);
      }
    });

    it(`${options.deepClip.codec} resized to float32 tensors agrees with libav`, async () => {
      const file = makeIndexedClip({ frames: 12, ...options.deepClip });
      const size = { outWidth: 96, outHeight: 64, dtype: 'float32' as const };
      const tensorOf = async (vl: VideoLoader) => {
        for await (const t of vl.selectFrames([7])) {
          const values = { shape: t.shape, data: t.dataSync() as Float32Array };
          t.dispose();
          return values;
        }
        throw new Error('no frame');
      };
      const ref = await VideoLoader.open(file, { backend: 'libav', ...size });
      const vl = await open(file, size);
      try {
        const a = await tensorOf(ref);
        const b = await tensorOf(vl);
        expect(b.shape).toEqual([64, 96, 3]);
        expect(
          psnr(
            b.data.map((v) => v * 255),
            a.data.map((v) => v * 255),
          ),
        ).toBeGreaterThanOrEqual(40);
        expect(readFrameCode(b.data, 96, 64)).toBe(7);
      } finally {
        await Promise.all([ref.close(), vl.close()]);
      }
    });

    it('four loaders decoding at once each get their own exact frames', async () => {
      const file = makeIndexedClip({ codec: 'h264', container: 'mp4', bframes: 3 });
      const loaders = await Promise.all([0, 1, 2, 3].map(() => open(file)));
      try {
        const requests = loaders.map((_, k) => randomRequest(60, 100 + k));
        const got = await Promise.all(loaders.map((vl, k) => vl.selectRawFrames(requests[k])));
        got.forEach((frames, k) => expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(requests[k]));
      } finally {
        await Promise.all(loaders.map((vl) => vl.close()));
      }
    });
  });
}

/**
 * nvvl's fused-processing parity case: frames 4..6 of a clip, resized, cropped, flipped and
 * normalised. `processing` is what @tvl/nvvl's loadSequences takes.
 */
export const FUSED_PROCESSING_CASE = {
  start: 4,
  count: 3,
  processing: {
    resize: { width: 256, height: 192 },
    crop: { width: 224, height: 160, x: 9, y: 11 },
    flip: true,
    normalise: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  },
};

/**
 * How far `fused` (the [1, 3, H, W, C] output of FUSED_PROCESSING_CASE on `file`) is from the
 * same processing done by core's transforms on @tvl/libav's frames (imported by the caller):
 * mean and max absolute error in [0, 1] units before normalising.
 */
export async function fusedProcessingError(fused: tf.Tensor, file: string): Promise<{ meanAbs: number; maxAbs: number }> {
  const { start, count, processing: p } = FUSED_PROCESSING_CASE;
  const vl = await VideoLoader.open(file, { backend: 'libav' });
  try {
    const frames = await vl.selectFrameBatch(Array.from({ length: count }, (_, k) => start + k));
    const stats = tf.tidy(() => {
      const expected = normalise(
        flip(crop(resize(frames, p.resize), { top: p.crop.y, left: p.crop.x, height: p.crop.height, width: p.crop.width })),
        p.normalise.mean,
        p.normalise.std,
      );
      const diff = tf.abs(tf.sub(tf.reshape(fused, expected.shape), expected));
      return [tf.mean(diff), tf.max(diff)];
    });
    frames.dispose();
    // Back from normalised units: times the mean std.
    const [meanAbs, maxAbs] = stats.map((t) => t.dataSync()[0] * 0.226);
    tf.dispose(stats);
    return { meanAbs, maxAbs };
  } finally {
    await vl.close();
  }
}
