/**
 * @tvl/nvdec's whole engine, without a GPU: test/emulated/nvdec.emulated.ts (core's conformance
 * and bad-input suites, colour parity, parallel loaders, unsupported streams) runs in a child jest
 * whose addon loads the emulated NVIDIA driver (@tvl/native-common's
 * packages/testkit/native/emulated-nvidia-driver.cc). The driver enforces what a real one does (a current CUDA
 * context for every call, a bounded number of mapped pictures, parameter sets before pictures,
 * delayed display, asynchronous host copies) and reports at exit what was never freed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runEmulatedDriverSuite } from '@tvl/testkit';

runEmulatedDriverSuite({
  packageDir: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
  config: 'jest.emulated.config.js',
  minPassed: 96,
  checkReport: (report) => {
    expect(report.primaryContextFlags).toBe(4); // CU_CTX_SCHED_BLOCKING_SYNC, set before TVL first activated it
    expect(report.kernelLaunches).toBeGreaterThan(1000);
    expect(report.picturesDecoded).toBeGreaterThan(report.kernelLaunches);
    expect(report.hwaccelPictures).toBe(0); // nvdec parses with NVIDIA's parser, never FFmpeg's hwaccel
  },
});
