/**
 * @tvl/nvvl's GPU path run end to end against the emulated NVIDIA driver (see @tvl/native-common's
 * packages/testkit/native/emulated-nvidia-driver.cc): FFmpeg's NVDEC hwaccel on TVL's CUDA context, its mapped
 * NV12/P010 surfaces converted by the frame kernel with the fused processing. The emulated NVDEC
 * decodes what FFmpeg sends it for H.264, VP9 and MJPEG (not HEVC, AV1 or MPEG-4), so the
 * conformance cases are those codecs', in every container and timing the suite knows. Started by
 * test/emulated-driver.test.ts in a child jest, with the driver's environment set; a real GPU
 * runs the same checks, every codec, through bench/gpu-check.mjs.
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import {
  CONFORMANCE_CASES,
  FUSED_PROCESSING_CASE,
  fusedProcessingError,
  makeColourClip,
  makeIndexedClip,
  readFrameCode,
  runBadInputSuite,
  runConformanceSuite,
  runCorruptionSweep,
  runGpuParitySuite,
  type ConformanceCase,
} from '@tvl/testkit';
import '@tvl/libav';
import { SequenceLoader, loadSequences } from '@tvl/nvvl';

if (!process.env.TVL_LIBCUDA) throw new Error('run through test/emulated-driver.test.ts: the emulated driver is not set');

const cases: ConformanceCase[] = [
  ...CONFORMANCE_CASES.filter((c) => ['h264', 'vp9', 'mjpeg'].includes(c.spec.codec)),
  { name: 'VP9 10-bit (P010 surfaces) in MKV', spec: { codec: 'vp9-10bit', container: 'mkv' } },
  { name: 'VP9 long GOP (keyframe every 120)', spec: { codec: 'vp9', container: 'mkv', frames: 150, gop: 120 } },
  { name: 'VP9 in MKV starting at 10 s', spec: { codec: 'vp9', container: 'mkv', startTime: 10 } },
  { name: 'VP9 with variable frame rate', spec: { codec: 'vp9', container: 'mkv', vfr: true } },
  { name: 'VP9 in MP4 rotated 90 degrees', spec: { codec: 'vp9', container: 'mp4', rotate: 90, width: 160, height: 96 } },
  { name: 'VP9 full range', spec: { codec: 'vp9', container: 'webm', fullRange: true } },
];
// The kernel samples chroma bilinearly where swscale filters it: a little off the CLI's pixels.
runConformanceSuite({ backend: 'nvvl', device: 'cuda', cases, cliTolerance: 2 });
runBadInputSuite({ backend: 'nvvl', device: 'cuda' });
runCorruptionSweep({ backend: 'nvvl', device: 'cuda', copies: 4, sameFrameTolerance: 3 });
// Colour parity (H.264 and VP9), VP9 10-bit (P010 surfaces) resized to float32, four loaders at once.
runGpuParitySuite({ backend: 'nvvl', device: 'cuda:0', colourCodecs: ['h264', 'vp9'], deepClip: { codec: 'vp9-10bit', container: 'mkv' } });

describe('nvvl on the emulated driver', () => {
  it('loadSequences: fused resize, crop, flip and normalise match core transforms on libav frames', async () => {
    const { start, count, processing } = FUSED_PROCESSING_CASE;
    const natural = makeColourClip('natural', 'bt709', 'limited');
    const fused = await loadSequences([{ path: natural, start, count }], processing, { device: 'cuda' });
    try {
      expect(fused.shape).toEqual([1, 3, 160, 224, 3]);
      // In [0, 1] units before normalising: the CPU path's bounds (test/cpu-path.test.ts), same clip.
      const { meanAbs, maxAbs } = await fusedProcessingError(fused, natural);
      expect(meanAbs).toBeLessThan(0.01);
      expect(maxAbs).toBeLessThan(0.5);
    } finally {
      fused.dispose();
    }
  });

  it('sequences with strides from two videos, int32, in one [B, T, H, W, C] tensor', async () => {
    const a = makeIndexedClip({ codec: 'vp9', container: 'webm' });
    const b = makeIndexedClip({ codec: 'mjpeg', container: 'avi', frames: 30 });
    const loader = new SequenceLoader({ device: 'cuda:0' });
    try {
      const batch = await loader.load(
        [
          { path: a, start: 40, count: 4, stride: 3 },
          { path: b, start: 25, count: 4 },
        ],
        { dtype: 'int32' },
      );
      expect(batch.tensor.shape).toEqual([2, 4, 120, 160, 3]);
      expect(batch.devices).toEqual(['cuda:0', 'cuda:0']);
      const data = batch.tensor.dataSync();
      const per = 120 * 160 * 3;
      const codes = Array.from({ length: 8 }, (_, k) => readFrameCode(data.subarray(k * per, (k + 1) * per), 160, 120, { scale: 255 }));
      expect(codes).toEqual([40, 43, 46, 49, 25, 26, 27, 28]);
      batch.tensor.dispose();
    } finally {
      await loader.close();
    }
  });

  it('batches(): prefetching on the GPU, then a break and an abort, leave no tensor behind', async () => {
    const clip = makeIndexedClip({ codec: 'vp9', container: 'webm' });
    const before = tf.memory().numTensors;
    const loader = new SequenceLoader({ device: 'cuda' });
    const specs = Array.from({ length: 8 }, (_, i) => [{ path: clip, start: 5 * i, count: 4 }]);
    const processing = { resize: { width: 64, height: 48 }, crop: { width: 56, height: 40, random: true }, flip: 0.5, seed: 7 };
    let n = 0;
    for await (const batch of loader.batches(specs, processing, { prefetch: 2 })) {
      expect(batch.tensor.shape).toEqual([1, 4, 40, 56, 3]);
      batch.tensor.dispose();
      if (++n === 3) break;
    }
    const controller = new AbortController();
    const it = loader.batches(specs, processing, { signal: controller.signal });
    (await it.next()).value!.tensor.dispose();
    controller.abort();
    await expect(it.next()).rejects.toMatchObject({ code: 'TVL_ABORTED' });
    await loader.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(tf.memory().numTensors).toBe(before);
  });
});
