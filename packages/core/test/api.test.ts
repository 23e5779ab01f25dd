import '@tensorflow/tfjs-backend-cpu';
import {
  VideoLoader,
  setBackendFactory,
  listBackends,
  parseDevice,
  fromNativeError,
  TvlError,
  CorruptDataError,
  EndOfVideoError,
  NoBackendError,
} from '@tvl/core';
import {
  registerBackend,
  unregisterBackend,
  resolveBackend,
  resolveOutputSize,
  KNOWN_BACKEND_PACKAGES,
  CONTINUE,
  FROM_CACHE,
  type DecodeRequest,
} from '@tvl/core/backend';
import { fakeBackend } from './fake-backend.js';

afterEach(() => {
  for (const b of listBackends()) unregisterBackend(b.name);
});

/** Runs `f` as if no GPU backend package were installed (in this workspace @tvl/nvdec is). */
async function withoutInstalledGpuPackages<T>(f: () => Promise<T>): Promise<T> {
  const saved = [...KNOWN_BACKEND_PACKAGES.cuda];
  KNOWN_BACKEND_PACKAGES.cuda.splice(0, saved.length, '@tvl/absent-gpu-a', '@tvl/absent-gpu-b');
  try {
    return await f();
  } finally {
    KNOWN_BACKEND_PACKAGES.cuda.splice(0, 2, ...saved);
  }
}

describe('devices', () => {
  it('parses cpu, cuda and cuda:N', () => {
    expect(parseDevice('cpu')).toEqual({ kind: 'cpu', ordinal: 0 });
    expect(parseDevice('cuda')).toEqual({ kind: 'cuda', ordinal: 0 });
    expect(parseDevice('cuda:3')).toEqual({ kind: 'cuda', ordinal: 3 });
    for (const bad of ['gpu', 'cpu:1', 'cuda:', 'cuda:x']) {
      expect(() => parseDevice(bad)).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
    }
  });
});

describe('registry', () => {
  it('names the packages to install when no backend is registered', async () => {
    const err = await withoutInstalledGpuPackages(() => resolveBackend(parseDevice('cuda')).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(NoBackendError);
    expect((err as Error).message).toMatch(/npm i @tvl\/absent-gpu-a \(or @tvl\/absent-gpu-b\)/);
    await withoutInstalledGpuPackages(() =>
      expect(VideoLoader.open('x.mp4', { device: 'cuda:1' })).rejects.toMatchObject({ code: 'TVL_NO_BACKEND' }),
    );
  });

  it('picks the registered backend, a named one, or the pinned one', async () => {
    registerBackend(fakeBackend('a'));
    registerBackend(fakeBackend('b'));
    expect((await resolveBackend(parseDevice('cpu'))).name).toBe('a');
    expect((await resolveBackend(parseDevice('cpu'), 'b')).name).toBe('b');
    setBackendFactory('cpu', 'b');
    expect((await resolveBackend(parseDevice('cpu'))).name).toBe('b');
    setBackendFactory('cpu', null);
    expect((await resolveBackend(parseDevice('cpu'))).name).toBe('a');
    expect(() => setBackendFactory('cpu', 'zzz')).toThrow(NoBackendError);
  });

  it('picks the default by a fixed preference, not by import order; explicit-only backends only when named', async () => {
    registerBackend({ ...fakeBackend('nvvl'), explicitOnly: true });
    registerBackend(fakeBackend('opencv'));
    registerBackend(fakeBackend('custom'));
    registerBackend(fakeBackend('libav'));
    expect((await resolveBackend(parseDevice('cpu'))).name).toBe('libav');
    unregisterBackend('libav');
    expect((await resolveBackend(parseDevice('cpu'))).name).toBe('opencv');
    unregisterBackend('opencv');
    expect((await resolveBackend(parseDevice('cpu'))).name).toBe('custom');
    expect((await resolveBackend(parseDevice('cpu'), 'nvvl')).name).toBe('nvvl');
  });
});

describe('errors', () => {
  it('turns native errors into typed errors with code and frame index', () => {
    const e = fromNativeError(Object.assign(new Error('frame 7 is damaged'), { code: 'TVL_CORRUPT_DATA', frameIndex: 7 }), '/v.mp4');
    expect(e).toBeInstanceOf(CorruptDataError);
    expect(e).toBeInstanceOf(TvlError);
    expect(e).toMatchObject({ code: 'TVL_CORRUPT_DATA', frameIndex: 7, path: '/v.mp4', name: 'CorruptDataError' });
    expect(fromNativeError(new Error('boom')).code).toBe('TVL_INTERNAL');
    expect(new EndOfVideoError('eof').name).toBe('EndOfVideoError');
  });
});

describe('output size', () => {
  it('keeps the aspect ratio when one side is given', () => {
    expect(resolveOutputSize({ width: 1280, height: 720 }, 160)).toEqual({ width: 160, height: 90 });
    expect(resolveOutputSize({ width: 1280, height: 720 }, undefined, 90)).toEqual({ width: 160, height: 90 });
    expect(resolveOutputSize({ width: 1280, height: 720 })).toEqual({ width: 1280, height: 720 });
    expect(() => resolveOutputSize({ width: 10, height: 10 }, 0)).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
  });
});

describe('VideoLoader over a backend', () => {
  it('selectFrames: request order, duplicates, each distinct frame decoded once, one native call', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls));
    const vl = await VideoLoader.open('clip', { dtype: 'int32' });
    const got: number[] = [];
    for await (const t of vl.selectFrames([7, 2, 7, 9, 2])) {
      expect(t.shape).toEqual([2, 4, 3]);
      got.push(t.dataSync()[0]);
      t.dispose();
    }
    expect(got).toEqual([7, 2, 7, 9, 2]);
    expect(calls).toHaveLength(1);
    expect(calls[0].plan.runs.flatMap((r) => r.keep)).toEqual([2, 7, 9]);
    await vl.close();
  });

  it('decodeWork sums what the backend reported over every native call', async () => {
    registerBackend(fakeBackend('fake', []));
    const vl = await VideoLoader.open('clip');
    expect(vl.decodeWork).toEqual({ calls: 0, seeks: 0, framesDecoded: 0, framesDelivered: 0, framesFromCache: 0 });
    await vl.selectRawFrames([7, 2, 7]);
    await vl.selectRawFrames([9]);
    // The fake reports one decoded frame per kept frame and one seek per run.
    expect(vl.decodeWork).toEqual({ calls: 2, seeks: 2, framesDecoded: 3, framesDelivered: 3, framesFromCache: 0 });
    await vl.close();
  });

  it('plans frames the backend reported cached from its cache, first; never for calls made while others are in flight', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls, { cacheFrames: 3 }));
    const vl = await VideoLoader.open('clip', { dtype: 'int32' });
    await vl.selectFrameBatch([1, 2, 3, 4]).then((t) => t.dispose()); // the backend keeps 2, 3, 4
    const batch = await vl.selectFrameBatch([6, 3, 2]);
    expect(Array.from(batch.dataSync().filter((_, k) => k % 24 === 0))).toEqual([6, 3, 2]);
    batch.dispose();
    expect(calls[1].plan.runs).toEqual([
      { start: FROM_CACHE, keep: [2, 3] },
      { start: CONTINUE, keep: [6] },
    ]);
    expect(vl.decodeWork).toMatchObject({ calls: 2, framesDelivered: 7, framesFromCache: 2 });
    // Two calls at once (a batch loaded ahead): the second plans from where the first should
    // leave the decoder (6: a plan from the cache does not move it), and takes nothing from the
    // cache, whose content is not known until the first has run.
    const first = vl.decodeInto([4], () => new Int32Array(24));
    const second = vl.decodeInto([6], () => new Int32Array(24));
    await Promise.all([first, second]);
    expect(calls[2].plan.runs).toEqual([{ start: FROM_CACHE, keep: [4] }]);
    expect(calls[3].plan.runs).toEqual([{ start: 5, keep: [6] }]);
    // After them, what the last one reported holds (calls run in the order they were made).
    await vl.selectFrameBatch([6]).then((t) => t.dispose());
    expect(calls[4].plan.runs).toEqual([{ start: FROM_CACHE, keep: [6] }]);
    await vl.close();
  });

  it('plans with the seek cost the backend measured, once it reports one', async () => {
    const calls: DecodeRequest[] = [];
    const fake = fakeBackend('fake', calls, { nFrames: 100 });
    let measured: number | undefined;
    registerBackend({
      ...fake,
      open: async (path, o) => {
        const video = await fake.open(path, o);
        return {
          ...video,
          backend: video.backend,
          info: video.info,
          index: video.index,
          costModel: { seekCost: 30 },
          decode: async (req) => ({ ...(await video.decode(req)), ...(measured ? { seekCost: measured } : {}) }),
        };
      },
    });
    const vl = await VideoLoader.open('clip');
    expect(vl.seekCost).toBe(30);
    await vl.selectRawFrames([10]); // 11 frames from the start: cheaper than a seek at cost 30
    expect(calls[0].plan.runs[0].start).toBe(CONTINUE);
    measured = 2;
    await vl.selectRawFrames([12]);
    expect(vl.seekCost).toBe(2);
    await vl.selectRawFrames([40]); // 28 frames on, or a seek (2) and 0 frames from keyframe 40
    expect(calls[2].plan.runs[0].start).toBe(40);
    await vl.close();
  });

  it('cacheFrames: an integer from 0 to 1024, handed to the backend', async () => {
    const seen: (number | undefined)[] = [];
    const fake = fakeBackend('fake');
    registerBackend({ ...fake, open: (path, o) => (seen.push(o.cacheFrames), fake.open(path, o)) });
    await (await VideoLoader.open('clip')).close();
    await (await VideoLoader.open('clip', { cacheFrames: 0 })).close();
    expect(seen).toEqual([16, 0]);
    for (const bad of [-1, 1.5, 2000, '4'])
      await expect(VideoLoader.open('clip', { cacheFrames: bad as number })).rejects.toMatchObject({
        code: 'TVL_INVALID_ARGUMENT',
        message: expect.stringMatching(/cacheFrames/),
      });
  });

  it('bounds each native call by maxBatchBytes and still decodes each frame once', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls));
    const frameBytes = 4 * 2 * 3; // raw frames are uint8 RGB
    const vl = await VideoLoader.open('clip', { maxBatchBytes: 2 * frameBytes });
    const raw = await vl.selectRawFrames([1, 2, 3, 1, 4, 5]);
    expect(raw.map((f) => f.data[0])).toEqual([1, 2, 3, 1, 4, 5]);
    expect(raw.map((f) => f.report.requestedIndex)).toEqual([1, 2, 3, 1, 4, 5]);
    const decoded = calls.flatMap((c) => c.plan.runs.flatMap((r) => r.keep));
    expect(decoded.sort()).toEqual([1, 2, 3, 4, 5]);
    for (const c of calls) expect(c.buffers.length).toBeLessThanOrEqual(2);
    await vl.close();
  });

  it('float32 frames in [0, 1], chw layout, stacked batches', async () => {
    registerBackend(fakeBackend('fake'));
    const vl = await VideoLoader.open('clip', { layout: 'chw' });
    const batch = await vl.selectFrameBatch([3, 4]);
    expect(batch.shape).toEqual([2, 3, 2, 4]);
    expect(batch.dtype).toBe('float32');
    const data = batch.dataSync();
    expect(data[0]).toBeCloseTo(3 / 255, 6);
    batch.dispose();
    await vl.close();
  });

  it('sequential reads pass the decoder position so the planner continues', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls));
    const vl = await VideoLoader.open('clip');
    (await vl.readFrame()).dispose();
    (await vl.readFrame()).dispose();
    expect(calls.map((c) => c.plan.runs[0].start)).toEqual([-1, -1]);
    expect(vl.position).toBe(2);
    vl.seek(0.75);
    expect(vl.position).toBe(7);
    const rest = await vl.readFrames(10);
    expect(rest).toHaveLength(3);
    rest.forEach((t) => t.dispose());
    await expect(vl.readFrame()).rejects.toBeInstanceOf(EndOfVideoError);
    expect(`${vl}`).toMatch(/10 frames/);
    await vl[Symbol.asyncDispose]();
    expect(vl.isClosed).toBe(true);
  });

  it('rejects bad options with typed errors', async () => {
    registerBackend(fakeBackend('fake'));
    await expect(VideoLoader.open('clip', { dtype: 'uint8' as 'int32' })).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
    await expect(VideoLoader.open('clip', { layout: 'nhwc' as 'hwc' })).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
    await expect(VideoLoader.open('', {})).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
    await expect(VideoLoader.open('clip', { threads: -1 })).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
  });
});

describe("fallback: 'cpu'", () => {
  const gpuFailing = (code: string) => ({
    name: 'gpu',
    device: 'cuda' as const,
    async open(): Promise<never> {
      throw Object.assign(new Error(`gpu says ${code}`), { code });
    },
  });

  it('without it, a GPU that cannot decode is a typed error', async () => {
    registerBackend(fakeBackend('cpu-fake'));
    registerBackend(gpuFailing('TVL_NO_CUDA_DEVICE'));
    await expect(VideoLoader.open('clip', { device: 'cuda' })).rejects.toMatchObject({
      code: 'TVL_NO_CUDA_DEVICE',
      message: 'gpu says TVL_NO_CUDA_DEVICE',
    });
    await expect(VideoLoader.open('clip', { device: 'cuda', fallback: 'gpu' as 'cpu' })).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
    });
  });

  it.each(['TVL_NO_CUDA_DEVICE', 'TVL_UNSUPPORTED_CODEC'])('after %s decodes on the CPU and says so', async (code) => {
    registerBackend(fakeBackend('cpu-fake'));
    registerBackend(gpuFailing(code));
    const vl = await VideoLoader.open('clip', { device: 'cuda:1', fallback: 'cpu' });
    expect(vl.backend).toBe('cpu-fake');
    expect(vl.device).toEqual({ kind: 'cpu', ordinal: 0 });
    expect(vl.fallbackReason).toContain(`cuda:1 cannot decode 'clip' (${code}): gpu says ${code}`);
    const [raw] = await vl.selectRawFrames([3]);
    expect(raw.report.backend).toBe('cpu-fake');
    expect(raw.data[0]).toBe(3);
    await vl.close();
  });

  it('also when no GPU backend is installed, but never for other errors', async () => {
    registerBackend(fakeBackend('cpu-fake'));
    const vl = await withoutInstalledGpuPackages(() => VideoLoader.open('clip', { device: 'cuda', fallback: 'cpu' }));
    expect(vl.backend).toBe('cpu-fake');
    expect(vl.fallbackReason).toMatch(/TVL_NO_BACKEND/);
    await vl.close();
    registerBackend(gpuFailing('TVL_CORRUPT_DATA'));
    await expect(VideoLoader.open('clip', { device: 'cuda', fallback: 'cpu' })).rejects.toMatchObject({ code: 'TVL_CORRUPT_DATA' });
  });

  it('fallbackBackend: the named CPU backend (also one that decodes only when named), with its backendOptions', async () => {
    registerBackend(fakeBackend('cpu-fake'));
    registerBackend({ ...gpuFailing('TVL_NO_CUDA_DEVICE'), backendOptionNames: ['mode'] });
    const seen: (Record<string, unknown> | undefined)[] = [];
    const ownCpuPath = { ...fakeBackend('gpu'), explicitOnly: true, backendOptionNames: ['mode'] };
    registerBackend({ ...ownCpuPath, open: (path, o) => (seen.push(o.backendOptions), ownCpuPath.open(path, o)) });
    const vl = await VideoLoader.open('clip', {
      device: 'cuda',
      backend: 'gpu',
      backendOptions: { mode: 1 },
      fallback: 'cpu',
      fallbackBackend: 'gpu',
    });
    expect([vl.backend, vl.device.kind]).toEqual(['gpu', 'cpu']);
    expect(seen).toEqual([{ mode: 1 }]);
    await vl.close();
    // Another backend's options do not go along.
    const other = await VideoLoader.open('clip', { device: 'cuda', fallback: 'cpu', fallbackBackend: 'gpu' });
    expect(seen[1]).toBeUndefined();
    await other.close();
    await expect(VideoLoader.open('clip', { device: 'cuda', fallback: 'cpu', fallbackBackend: '' })).rejects.toMatchObject({
      code: 'TVL_INVALID_ARGUMENT',
      message: expect.stringMatching(/fallbackBackend/),
    });
    await expect(VideoLoader.open('clip', { device: 'cuda', fallback: 'cpu', fallbackBackend: 'nope' })).rejects.toMatchObject({
      code: 'TVL_NO_BACKEND',
    });
  });

  it('a loader that did not fall back has no fallbackReason', async () => {
    registerBackend(fakeBackend('gpu-fake', [], { device: 'cuda' }));
    const vl = await VideoLoader.open('clip', { device: 'cuda', fallback: 'cpu' });
    expect(vl.backend).toBe('gpu-fake');
    expect(vl.fallbackReason).toBeUndefined();
    expect(vl.device).toEqual({ kind: 'cuda', ordinal: 0 });
    await vl.close();
  });
});

describe('decoder state and frame reports come from what the backend did', () => {
  it('a backend that delivers another frame than asked is TVL_INEXACT_FRAME naming the frame asked for', async () => {
    registerBackend(fakeBackend('fake', [], { deliver: (kept) => kept.map((i) => (i === 4 ? 5 : i)) }));
    const vl = await VideoLoader.open('clip');
    try {
      expect((await vl.selectRawFrames([2, 3])).map((f) => f.report.index)).toEqual([2, 3]);
      await expect(vl.selectRawFrames([3, 4])).rejects.toMatchObject({ code: 'TVL_INEXACT_FRAME', frameIndex: 4 });
      await expect(vl.selectFrame(4)).rejects.toMatchObject({ code: 'TVL_INEXACT_FRAME', frameIndex: 4 });
    } finally {
      await vl.close();
    }
  });

  it('a backend that cannot continue makes the next plan seek', async () => {
    const calls: DecodeRequest[] = [];
    const backend = fakeBackend('fake', calls);
    registerBackend({
      ...backend,
      async open(path, options) {
        const session = await backend.open(path, options);
        let drained = true;
        return {
          ...session,
          backend: 'fake',
          info: session.info,
          index: session.index,
          async decode(req) {
            const result = await session.decode(req);
            // The first plan reports a drained decoder; later ones can continue.
            const continuable = !drained;
            drained = false;
            return { ...result, continuable };
          },
        };
      },
    });
    const vl = await VideoLoader.open('clip');
    try {
      for (let k = 0; k < 3; k++) (await vl.readFrame()).dispose();
      // Frame 0: continue from the start; frame 1: the decoder said it cannot continue, so seek to keyframe 0; frame 2: continue.
      expect(calls.map((c) => c.plan.runs[0].start)).toEqual([-1, 0, -1]);
    } finally {
      await vl.close();
    }
  });
});
