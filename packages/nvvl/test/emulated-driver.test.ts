/**
 * @tvl/nvvl's GPU path without a GPU: test/emulated/nvvl.emulated.ts runs in a child jest whose
 * addon, and FFmpeg's NVDEC hwaccel inside it, load the emulated NVIDIA driver (@tvl/native-common's
 * packages/testkit/native/emulated-nvidia-driver.cc). FFmpeg parses; the emulated NVDEC decodes the pictures it
 * is sent (H.264, VP9, MJPEG) and reports their decode status; TVL's kernel converts the mapped
 * surfaces; the driver enforces a real one's rules and reports at exit what was never freed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEmulatedDriverSuite } from '@tvl/testkit';

runEmulatedDriverSuite({
  packageDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
  config: 'jest.emulated.config.js',
  minPassed: 116,
  checkReport: (report) => {
    expect(report.primaryContextFlags).toBe(4); // CU_CTX_SCHED_BLOCKING_SYNC, set before TVL first activated it
    expect(report.hwaccelPictures).toBeGreaterThan(1000); // every picture came through FFmpeg's hwaccel
    expect(report.hwaccelPictures).toBe(report.picturesDecoded);
    expect(report.kernelLaunches).toBeGreaterThan(1000);
  },
});
