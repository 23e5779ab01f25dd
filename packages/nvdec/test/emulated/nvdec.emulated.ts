/**
 * @tvl/nvdec's engine run end to end against the emulated NVIDIA driver (see @tvl/native-common's
 * packages/testkit/native/emulated-nvidia-driver.cc): core's conformance and bad-input suites, colour parity with
 * @tvl/libav, resized output, several loaders at once, and the typed error (and CPU fallback) for
 * a stream the GPU cannot decode. Started by test/emulated-driver.test.ts in a child jest, with
 * the driver's environment set; a real GPU runs the same checks through bench/gpu-check.mjs.
 */
import '@tensorflow/tfjs-backend-cpu';
import { UnsupportedCodecError, VideoLoader } from '@tvl/core';
import fs from 'node:fs';
import path from 'node:path';
import { runBadInputSuite, runConformanceSuite, runCorruptionSweep, runFfmpeg, runGpuParitySuite, testMediaDir } from '@tvl/testkit';
import '@tvl/libav';
import { cudaStatus } from '@tvl/nvdec';

if (!process.env.TVL_LIBNVCUVID) throw new Error('run through test/emulated-driver.test.ts: the emulated driver is not set');

// The frame kernel samples chroma by block where swscale filters it: a little off the CLI's pixels.
runConformanceSuite({ backend: 'nvdec', device: 'cuda', cliTolerance: 2 });
runBadInputSuite({ backend: 'nvdec', device: 'cuda' });
runCorruptionSweep({ backend: 'nvdec', device: 'cuda', copies: 4, sameFrameTolerance: 3 });
// Colour parity, HEVC 10-bit (P016 surfaces) resized to float32, four loaders at once.
runGpuParitySuite({ backend: 'nvdec', device: 'cuda:0', deepClip: { codec: 'hevc10', container: 'mkv' } });

describe('nvdec on the emulated driver', () => {
  it('cudaStatus lists the GPU', async () => {
    expect(await cudaStatus()).toMatchObject({ available: true, driverVersion: 13000, devices: [{ ordinal: 0, name: 'Emulated GPU' }] });
  });

  it("what this GPU cannot decode: TVL_UNSUPPORTED_CODEC naming it, or libav with fallback: 'cpu'", async () => {
    // The emulated GPU, like many real ones, decodes no 4:4:4 H.264.
    const file = path.join(testMediaDir(), 'h264-444.mp4');
    if (!fs.existsSync(file)) {
      runFfmpeg([
        '-f',
        'lavfi',
        '-i',
        'testsrc2=s=160x120:r=25',
        '-frames:v',
        '20',
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv444p',
        `${file}.tmp.mp4`,
      ]);
      fs.renameSync(`${file}.tmp.mp4`, file);
    }
    const err = await VideoLoader.open(file, { device: 'cuda', backend: 'nvdec' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedCodecError);
    expect((err as Error).message).toBe(
      "NVDEC on Emulated GPU (cuda:0) cannot decode h264 High 4:4:4 Predictive 8-bit yuv444p 160x120 (4:4:4, 8-bit). Open with fallback: 'cpu' to decode it on the CPU",
    );
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
