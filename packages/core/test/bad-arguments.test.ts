/**
 * Every public function, tried with values a careless or confused caller passes: each call must
 * settle (no hang) with a sensible result or a TvlError that is not TVL_INTERNAL (never a
 * TypeError from deep inside, never an out-of-memory abort, never a loop without end).
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import {
  BatchDataLoader,
  TvlError,
  VideoDataset,
  VideoLoader,
  VideoLoaderPool,
  asyncDataset,
  crop,
  denormalise,
  fit,
  flip,
  listBackends,
  normalise,
  parseDevice,
  resize,
  slidingClips,
} from '@tvl/core';
import { registerBackend, unregisterBackend } from '@tvl/core/backend';
import { fakeBackend } from './fake-backend.js';

/** Values no parameter of TVL's API accepts everywhere. */
const BAD: unknown[] = [
  undefined,
  null,
  NaN,
  Infinity,
  -Infinity,
  -1,
  0,
  0.5,
  2 ** 53,
  1e12,
  '',
  'x',
  'a\0b',
  {},
  [],
  [NaN],
  [1e12],
  10n,
  Symbol('s'),
  () => 1,
  true,
  new Date(0),
  { length: -1 },
  new Array(3),
];

type Outcome = 'ok' | string;

/** What broke the promise, across a test: asserted empty at its end. */
let problems: string[] = [];
beforeEach(() => {
  problems = [];
});
afterEach(() => expect(problems).toEqual([]));

/** Runs `call`; returns 'ok' or the TvlError code, and records anything else as a problem. */
async function settle(what: string, call: () => unknown): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle within 5 s`)), 5000);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(call), hang]);
    if (value && typeof value === 'object' && Symbol.asyncIterator in value) {
      // An async iterator: the error (if any) comes with the first step.
      const it = (value as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      const step = await Promise.race([it.next(), hang]);
      if (step.value instanceof tf.Tensor) step.value.dispose();
      await it.return?.(undefined);
    }
    if (value instanceof tf.Tensor) value.dispose();
    if (Array.isArray(value)) for (const v of value) if (v instanceof tf.Tensor) v.dispose();
    return 'ok';
  } catch (err) {
    if (!(err instanceof TvlError) || err.code === 'TVL_INTERNAL') {
      problems.push(`${what}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      return 'untyped';
    }
    return err.code;
  } finally {
    clearTimeout(timer);
  }
}

const label = (v: unknown) =>
  typeof v === 'symbol'
    ? v.toString()
    : typeof v === 'bigint'
      ? `${v}n`
      : typeof v === 'function'
        ? 'a function'
        : (JSON.stringify(v) ?? String(v));

beforeAll(() => registerBackend(fakeBackend('fake', [], { nFrames: 10 })));
afterAll(() => {
  for (const b of listBackends()) unregisterBackend(b.name);
});

describe('bad arguments: every public function, every bad value', () => {
  it('VideoLoader.open: the path and each option', async () => {
    for (const v of BAD) await settle(`open(${label(v)})`, () => VideoLoader.open(v as string));
    await expect(VideoLoader.open('/tmp/a\0b.mp4')).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
    const options = [
      'device',
      'backend',
      'dtype',
      'layout',
      'outWidth',
      'outHeight',
      'threads',
      'maxBatchBytes',
      'maxResultBytes',
      'signal',
      'backendOptions',
      'fallback',
      'index',
      'indexCache',
    ];
    for (const v of [...BAD, 'not-an-options-object'])
      await settle(`open(path, ${label(v)})`, () => VideoLoader.open('a.mp4', v as object));
    for (const key of options) {
      for (const v of BAD) {
        if (v === undefined) continue;
        const outcome = await settle(`open({ ${key}: ${label(v)} })`, async () => (await VideoLoader.open('a.mp4', { [key]: v })).close());
        // Options a file can be opened with anyway are fine; anything else is named as invalid.
        const named = outcome === 'TVL_INVALID_ARGUMENT' || (key === 'backend' && outcome === 'TVL_NO_BACKEND');
        if (outcome !== 'ok' && !named) problems.push(`open({ ${key}: ${label(v)} }): ${outcome}`);
      }
    }
  });

  it('a loader: seeks, reads and selections', async () => {
    const vl = await VideoLoader.open('a.mp4');
    try {
      for (const v of BAD) {
        await settle(`seek(${label(v)})`, () => vl.seek(v as number));
        await settle(`seekToFrame(${label(v)})`, () => vl.seekToFrame(v as number));
        await settle(`readFrames(${label(v)})`, () => {
          vl.seekToFrame(0);
          return vl.readFrames(v as number);
        });
        await settle(`selectFrame(${label(v)})`, () => vl.selectFrame(v as number));
        await settle(`selectFrames(${label(v)})`, () => vl.selectFrames(v as number[]));
        await settle(`selectFrameBatch(${label(v)})`, () => vl.selectFrameBatch(v as number[]));
        await settle(`selectRawFrames(${label(v)})`, () => vl.selectRawFrames(v as number[]));
        await settle(`selectRawFrames([${label(v)}])`, () => vl.selectRawFrames([v as number]));
        await settle(`readFrame({ signal: ${label(v)} })`, () => {
          vl.seekToFrame(0);
          return vl.readFrame({ signal: v as AbortSignal });
        });
      }
      await expect(vl.selectFrameBatch([])).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
      await expect(vl.selectRawFrames([10n as unknown as number])).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
      // A million valid indices: 24 MB of frames here, 2.6 TB at 720p: refused before any work.
      const big = await VideoLoader.open('b.mp4', { maxResultBytes: 500 }); // 10 frames of 4x2: 240 bytes raw, 960 as float32
      await expect(big.selectRawFrames(Array.from({ length: 1e6 }, (_, i) => i % 10))).rejects.toMatchObject({
        code: 'TVL_INVALID_ARGUMENT',
      });
      await expect(big.readFrames(1e9)).rejects.toThrow(/maxResultBytes/);
      await big.close();
    } finally {
      await vl.close();
    }
  });

  it('transforms', async () => {
    const frame = tf.zeros([4, 6, 3]) as tf.Tensor3D;
    try {
      for (const v of BAD) {
        await settle(`normalise(frame, ${label(v)}, 1)`, () => normalise(frame, v as number, 1));
        await settle(`normalise(${label(v)}, 0, 1)`, () => normalise(v as tf.Tensor3D, 0, 1));
        await settle(`denormalise(frame, 0, ${label(v)})`, () => denormalise(frame, 0, v as number));
        await settle(`resize(frame, ${label(v)})`, () => resize(frame, v as { height: number; width: number }));
        await settle(`resize(frame, { height: ${label(v)} })`, () => resize(frame, { height: v as number, width: 2 }));
        await settle(`resize(frame, size, ${label(v)})`, () => resize(frame, { height: 2, width: 2 }, v as 'nearest'));
        await settle(`crop(frame, ${label(v)})`, () => crop(frame, v as { top: number; left: number; height: number; width: number }));
        await settle(`crop(frame, { height: ${label(v)} })`, () => crop(frame, { top: 0, left: 0, height: v as number, width: 2 }));
        await settle(`crop(frame, region, ${label(v)})`, () => crop(frame, { top: -1, left: 0, height: 2, width: 2 }, v as object));
        await settle(`flip(frame, ${label(v)})`, () => flip(frame, v as 'horizontal'));
        await settle(`fit(frame, ${label(v)})`, () => fit(frame, v as { height: number; width: number }));
        await settle(`fit(frame, size, ${label(v)})`, () => fit(frame, { height: 2, width: 2 }, v as object));
      }
      await expect(settle('a huge crop', () => crop(frame, { top: 0, left: 0, height: 1e9, width: 1e9 }))).resolves.toBe(
        'TVL_INVALID_ARGUMENT',
      );
    } finally {
      frame.dispose();
    }
  });

  it('datasets, batches, pools and devices', async () => {
    for (const v of BAD) {
      await settle(`slidingClips(${label(v)})`, () => slidingClips('a.mp4', 100, v as number));
      await settle(`slidingClips({ step: ${label(v)} })`, () => slidingClips('a.mp4', 100, 4, { step: v as number }));
      await settle(`slidingClips({ stride: ${label(v)} })`, () => slidingClips('a.mp4', 100, 4, { stride: v as number }));
      await settle(`slidingClips(nFrames ${label(v)})`, () => slidingClips('a.mp4', v as number, 4));
      await settle(`parseDevice(${label(v)})`, () => parseDevice(v as string));
      await settle(`new VideoLoaderPool(${label(v)})`, () => new VideoLoaderPool(v as object).close());
      await settle(`new VideoDataset(${label(v)})`, () => new VideoDataset(v as []).close());
      await settle(`asyncDataset(${label(v)})`, () => asyncDataset(v as number, async () => 1));
      await settle(
        `new BatchDataLoader(ds, ${label(v)})`,
        () =>
          new BatchDataLoader(
            asyncDataset(2, async () => tf.scalar(1)),
            v as { batchSize: number },
          ),
      );
      await settle(
        `BatchDataLoader batchSize ${label(v)}`,
        () =>
          new BatchDataLoader(
            asyncDataset(2, async () => tf.scalar(1)),
            { batchSize: v as number },
          ),
      );
      await settle(
        `BatchDataLoader prefetch ${label(v)}`,
        () =>
          new BatchDataLoader(
            asyncDataset(2, async () => tf.scalar(1)),
            { batchSize: 1, prefetch: v as number },
          ),
      );
    }
    expect(() => slidingClips('a.mp4', 100, 0)).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
    expect(() => slidingClips('a.mp4', 100, 4, { step: 0 })).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
    expect(() => slidingClips('a.mp4', 100, 4, { step: -2 })).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
    const pool = new VideoLoaderPool({ slots: { cpu: 1 } });
    try {
      for (const v of BAD) {
        await settle(`pool.withLoader(${label(v)})`, () => pool.withLoader(v as string, async () => 1));
        await settle(`pool.withLoader(path, ${label(v)})`, () => pool.withLoader('a.mp4', v as () => Promise<number>));
      }
    } finally {
      await pool.close();
    }
  });

  it('misspelt option names are refused, naming the option meant', async () => {
    registerBackend({ ...fakeBackend('fake'), backendOptionNames: ['colour'] });
    const refused = (message: RegExp) => expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT', message: expect.stringMatching(message) });
    await expect(VideoLoader.open('a.mp4', { outwidth: 64 } as object)).rejects.toEqual(
      refused(/Unknown option 'outwidth'.*did you mean 'outWidth'/),
    );
    await expect(VideoLoader.open('a.mp4', { devise: 'cpu' } as object)).rejects.toEqual(refused(/did you mean 'device'/));
    await expect(VideoLoader.open('a.mp4', { backendOptions: { colur: 'opencv' } })).rejects.toEqual(
      refused(/'colur' in backendOptions \(backend 'fake'\).*did you mean 'colour'/),
    );
    await expect(VideoLoader.open('a.mp4', { zzzzzz: 1 } as object)).rejects.toEqual(refused(/known options: device, backend/));
    // Undefined values are what spreading optional fields gives: not a mistake.
    await (await VideoLoader.open('a.mp4', { outWidth: undefined, backendOptions: { colour: 'opencv' } })).close();
    const vl = await VideoLoader.open('a.mp4');
    try {
      await expect(vl.readFrames(1, { sigal: undefined, signl: 1 } as object)).rejects.toEqual(
        refused(/'signl' in read options.*did you mean 'signal'/),
      );
      await expect(
        vl
          .selectFrames([0], { singal: 1 } as object)
          [Symbol.asyncIterator]()
          .next(),
      ).rejects.toEqual(refused(/did you mean 'signal'/));
      await expect(vl.selectRawFrames([0], { singal: 1 } as object)).rejects.toEqual(refused(/did you mean 'signal'/));
    } finally {
      await vl.close();
    }
    expect(() => new VideoLoaderPool({ slot: { cpu: 1 } } as object)).toThrow(refused(/did you mean 'slots'/));
    expect(
      () =>
        new BatchDataLoader(
          asyncDataset(2, async () => tf.scalar(1)),
          { batchSize: 1, prefetc: 2 } as { batchSize: number },
        ),
    ).toThrow(refused(/did you mean 'prefetch'/));
    expect(() => new VideoDataset([{ path: 'a.mp4', frames: [0] }], { loaderOption: {} } as object)).toThrow(
      refused(/did you mean 'loaderOptions'/),
    );
  });
});
