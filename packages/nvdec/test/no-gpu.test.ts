/**
 * What @tvl/nvdec does on a machine without a usable GPU (this one and CI): the addon loads,
 * `open` fails at once with TVL_NO_CUDA_DEVICE saying why and what to do, and `fallback: 'cpu'`
 * decodes with @tvl/libav, exactly, and says so. The emulated driver (@tvl/testkit) plays one that
 * finds no GPU, or one GPU, in child processes (the driver is loaded once per process).
 */
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { VideoLoader, NoCudaDeviceError } from '@tvl/core';
import { buildEmulatedNvidiaDriver, emulatedNvidiaEnv, makeIndexedClip, ffmpegFrameCodes, readFrameCode } from '@tvl/testkit';
import { cudaStatus } from '@tvl/nvdec';
import '@tvl/libav';

const here = path.dirname(fileURLToPath(import.meta.url));
const addonPath = path.resolve(here, '../native/build/Release/tvl_nvdec.node');
const realDriver = ['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1'].some((p) => fs.existsSync(p));
const noDriver = realDriver ? describe.skip : describe;

noDriver('without an NVIDIA driver', () => {
  let clip = '';
  beforeAll(() => {
    clip = makeIndexedClip({ codec: 'h264', container: 'mp4', bframes: 2, frames: 30 });
  });

  it('cudaStatus says no GPU and why', async () => {
    const status = await cudaStatus();
    expect(status).toMatchObject({ available: false, driverVersion: 0, devices: [] });
    expect(status.reason).toMatch(/no NVIDIA driver: cannot load libcuda\.so\.1/);
    expect(status.reason).toMatch(/fallback: 'cpu'/);
  });

  it.each(['cuda', 'cuda:0', 'cuda:3'])("open on '%s' is TVL_NO_CUDA_DEVICE, before reading the file", async (device) => {
    const err = await VideoLoader.open('/no/such/file.mp4', { device, backend: 'nvdec' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoCudaDeviceError);
    expect(err).toMatchObject({ code: 'TVL_NO_CUDA_DEVICE', path: '/no/such/file.mp4' });
    expect((err as Error).message).toMatch(/Install the NVIDIA driver/);
  });

  it("fallback: 'cpu' decodes the exact frames with libav and reports it", async () => {
    const vl = await VideoLoader.open(clip, { device: 'cuda', backend: 'nvdec', fallback: 'cpu', outWidth: 64 });
    try {
      expect(vl.backend).toBe('libav');
      expect(vl.device.kind).toBe('cpu');
      expect(vl.fallbackReason).toMatch(/^cuda:0 cannot decode .* \(TVL_NO_CUDA_DEVICE\): no NVIDIA driver/);
      const expected = ffmpegFrameCodes(clip);
      const frames = await vl.selectRawFrames([17, 3, 29, 3]);
      expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual([17, 3, 29, 3].map((i) => expected[i]));
      expect(frames.every((f) => f.report.backend === 'libav')).toBe(true);
    } finally {
      await vl.close();
    }
  });
});

describe('with a driver that finds no GPU or one GPU (emulated)', () => {
  let emulated = '';
  beforeAll(() => {
    emulated = buildEmulatedNvidiaDriver();
  });

  /** Runs the addon in a child process with the emulated driver; returns what probe/open said. */
  function inChild(devices: number, script: string): { code?: string; message?: string; value?: unknown } {
    const js = `
      const addon = require(${JSON.stringify(addonPath)});
      (async () => { ${script} })().then(
        (value) => console.log(JSON.stringify({ value })),
        (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));`;
    const r = spawnSync(process.execPath, ['-e', js], {
      env: { ...emulatedNvidiaEnv(emulated, devices), TVL_LIBNVCUVID: '/no/such/libnvcuvid.so.1' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }

  it("no GPU: the driver's own words", () => {
    const r = inChild(0, `return addon.probe();`);
    expect(r.code).toBe('TVL_NO_CUDA_DEVICE');
    expect(r.message).toMatch(/found no usable GPU \(cuInit: CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected\)/);
  });

  it('one GPU: probe lists it, a bad ordinal names the devices there are', () => {
    const probe = inChild(1, `return addon.probe();`);
    expect(probe.value).toEqual({
      driverVersion: 13000,
      devices: [{ ordinal: 0, name: 'Emulated GPU', memoryBytes: 2 ** 30, computeCapability: '9.0' }],
    });
    const bad = inChild(1, `return addon.openVideo('x.mp4', { device: 3 }, new Int32Array(1));`);
    expect(bad).toMatchObject({
      code: 'TVL_NO_CUDA_DEVICE',
      message: 'device cuda:3 does not exist: this machine has 1 CUDA device (cuda:0)',
    });
  });

  it('a driver without the video decoder library is TVL_NO_CUDA_DEVICE too', () => {
    const r = inChild(1, `return addon.openVideo('x.mp4', { device: 0 }, new Int32Array(1));`);
    expect(r.code).toBe('TVL_NO_CUDA_DEVICE');
    expect(r.message).toMatch(/video decoder library is missing \(\/no\/such\/libnvcuvid\.so\.1/);
  });
});
