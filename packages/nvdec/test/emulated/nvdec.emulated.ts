/**
 * @tvl/nvdec's engine run end to end against the emulated NVIDIA driver (see @tvl/native-common's
 * testing/emulated-nvidia-driver.cc): core's conformance and bad-input suites, colour parity with
 * @tvl/libav, resized output, several loaders at once, and the typed error (and CPU fallback) for
 * a stream the GPU cannot decode. Started by test/emulated-driver.test.ts in a child jest, with
 * the driver's environment set; a real GPU runs the same checks through bench/gpu-check.mjs.
 */
import '@tensorflow/tfjs-backend-cpu';
import { UnsupportedCodecError, VideoLoader } from '@tvl/core';
import fs from 'node:fs';
import path from 'node:path';
import {
  makeColourClip, makeIndexedClip, psnr, randomRequest, readFrameCode, runBadInputSuite, runConformanceSuite, runFfmpeg, testMediaDir,
} from '@tvl/core/testing';
import '@tvl/libav';
import { cudaStatus } from '@tvl/nvdec';

if (!process.env.TVL_LIBNVCUVID) throw new Error('run through test/emulated-driver.test.ts: the emulated driver is not set');

// The frame kernel samples chroma by block where swscale filters it: a little off the CLI's pixels.
runConformanceSuite({ backend: 'nvdec', device: 'cuda', cliTolerance: 2 });
runBadInputSuite({ backend: 'nvdec', device: 'cuda' });

describe('nvdec on the emulated driver', () => {
  it('cudaStatus lists the GPU', async () => {
    expect(await cudaStatus()).toMatchObject({ available: true, driverVersion: 13000, devices: [{ ordinal: 0, name: 'Emulated GPU' }] });
  });

  const colourCases = (['natural', 'smptebars'] as const).flatMap((source) =>
    (['bt601', 'bt709'] as const).flatMap((matrix) => (['limited', 'full'] as const).map((range) => ({ source, matrix, range }))));

  it.each(colourCases)('colour parity with libav: $source $matrix $range, at least 40 dB', async ({ source, matrix, range }) => {
    const file = makeColourClip(source, matrix, range);
    const ref = await VideoLoader.open(file, { backend: 'libav' });
    const vl = await VideoLoader.open(file, { device: 'cuda', backend: 'nvdec' });
    try {
      expect([vl.info.colourMatrix, vl.info.colourRange]).toEqual([matrix, range]);
      const a = await ref.selectRawFrames([0, 5, 11]);
      const b = await vl.selectRawFrames([0, 5, 11]);
      b.forEach((f, k) => expect(psnr(f.data, a[k].data)).toBeGreaterThanOrEqual(40));
    } finally {
      await Promise.all([ref.close(), vl.close()]);
    }
  });

  it('HEVC 10-bit (P016 surfaces), resized to float32 tensors, agrees with libav', async () => {
    const file = makeIndexedClip({ codec: 'hevc10', container: 'mkv', frames: 12 });
    const options = { outWidth: 96, outHeight: 64, dtype: 'float32' as const };
    const firstTensor = async (vl: VideoLoader) => {
      for await (const t of vl.selectFrames([7])) {
        const values = { shape: t.shape, data: t.dataSync() as Float32Array };
        t.dispose();
        return values;
      }
      throw new Error('no frame');
    };
    const ref = await VideoLoader.open(file, { backend: 'libav', ...options });
    const vl = await VideoLoader.open(file, { device: 'cuda', backend: 'nvdec', ...options });
    try {
      const a = await firstTensor(ref);
      const b = await firstTensor(vl);
      expect(b.shape).toEqual([64, 96, 3]);
      expect(psnr(b.data.map((v) => v * 255), a.data.map((v) => v * 255))).toBeGreaterThanOrEqual(40);
      expect(readFrameCode(b.data, 96, 64)).toBe(7);
    } finally {
      await Promise.all([ref.close(), vl.close()]);
    }
  });

  it('four loaders decoding at once each get their own exact frames', async () => {
    const file = makeIndexedClip({ codec: 'h264', container: 'mp4', bframes: 3 });
    const loaders = await Promise.all([0, 1, 2, 3].map(() => VideoLoader.open(file, { device: 'cuda:0', backend: 'nvdec' })));
    try {
      const requests = loaders.map((_, k) => randomRequest(60, 100 + k));
      const got = await Promise.all(loaders.map((vl, k) => vl.selectRawFrames(requests[k])));
      got.forEach((frames, k) => expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(requests[k]));
    } finally {
      await Promise.all(loaders.map((vl) => vl.close()));
    }
  });

  it("what this GPU cannot decode: TVL_UNSUPPORTED_CODEC naming it, or libav with fallback: 'cpu'", async () => {
    // The emulated GPU, like many real ones, decodes no 4:4:4 H.264.
    const file = path.join(testMediaDir(), 'h264-444.mp4');
    if (!fs.existsSync(file)) {
      runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=25', '-frames:v', '20', '-c:v', 'libx264', '-pix_fmt', 'yuv444p', `${file}.tmp.mp4`]);
      fs.renameSync(`${file}.tmp.mp4`, file);
    }
    const err = await VideoLoader.open(file, { device: 'cuda', backend: 'nvdec' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedCodecError);
    expect((err as Error).message).toBe(
      "NVDEC on Emulated GPU (cuda:0) cannot decode h264 High 4:4:4 Predictive 8-bit yuv444p 160x120 (4:4:4, 8-bit). Open with fallback: 'cpu' to decode it on the CPU");
    const vl = await VideoLoader.open(file, { device: 'cuda', backend: 'nvdec', fallback: 'cpu' });
    try {
      expect([vl.backend, vl.device.kind]).toEqual(['libav', 'cpu']);
      expect(vl.fallbackReason).toMatch(/TVL_UNSUPPORTED_CODEC/);
      const frames = await vl.selectRawFrames([13, 2]);
      expect(frames.map((f) => f.report.backend)).toEqual(['libav', 'libav']);
    } finally {
      await vl.close();
    }
  });
});
