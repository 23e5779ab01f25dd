/**
 * Datasets for training: a VideoDataset of clips (a video and the frame indices to take from
 * it), and a BatchDataLoader that turns any AsyncDataset into shuffled, sharded batches,
 * keeping a bounded number of batches loading while the caller trains on the current one.
 */
import { setMaxListeners } from 'node:events';
import * as tf from '@tensorflow/tfjs-core';
import { BatchMemory } from './batch-memory.js';
import { startClipBatch } from './clip-batch.js';
import { AbortedError, DatasetItemError, InvalidArgumentError, describeValue } from './errors.js';
import { booleanOption, rejectUnknownOptions } from './options.js';
import { VideoLoaderPool } from './pool.js';
import { prefetchBatches, type StartedBatch } from './prefetch.js';
import { seededRandom } from './random.js';
import type { VideoLoaderOptions } from './video-loader.js';

/** Anything indexable whose items load asynchronously. */
export interface AsyncDataset<T> {
  readonly length: number;
  get(index: number, options?: { signal?: AbortSignal }): Promise<T>;
  /** Describes item `index` for error messages (e.g. its path and frames). */
  describe?(index: number): string;
  /**
   * Optional: loads the items `indices` as one batch, with its native work started when `started`
   * resolves (so it goes on while the caller's thread is blocked), or null when this dataset
   * cannot for these options (BatchDataLoader then loads item by item). VideoDataset has it.
   */
  startBatch?(indices: number[], signal: AbortSignal, options?: StartBatchOptions): BatchStart<T> | null;
}

export interface StartBatchOptions {
  /** Memory for the batch buffer, reused once its tensor is disposed (BatchDataLoader's `reuseMemory`). */
  memory?: BatchMemory;
}

/** A batch whose loading has begun (see AsyncDataset.startBatch); `data` is one buffer the backends wrote into, wrapped without a copy. */
export type BatchStart<T> = StartedBatch<{ data: tf.Tensor; items: T[] }>;

/** An AsyncDataset from a length and a loading function. */
export function asyncDataset<T>(
  length: number,
  load: (index: number, options: { signal?: AbortSignal }) => Promise<T>,
  describe?: (index: number) => string,
): AsyncDataset<T> {
  if (typeof load !== 'function') throw new InvalidArgumentError(`asyncDataset: expected a load function, got ${describeValue(load)}`);
  if (!Number.isInteger(length) || length < 0)
    throw new InvalidArgumentError(`dataset length must be a non-negative integer, got ${describeValue(length)}`);
  return { length, get: (i, options = {}) => load(i, options), describe };
}

export interface VideoClip {
  path: string;
  /** Frame indices in the order the clip should hold them. */
  frames: number[];
  /** Anything the caller wants back with the clip (a class label, an id). */
  label?: unknown;
}

export interface Clip {
  /** [T, H, W, C] (or [T, C, H, W] with layout 'chw'). */
  data: tf.Tensor4D;
  spec: VideoClip;
}

export interface VideoDatasetOptions {
  /** Loader options for every clip (size, dtype, device, backend...). */
  loaderOptions?: Omit<VideoLoaderOptions, 'device' | 'signal'>;
  /** The pool clips are loaded through; default: its own, with 2 CPU slots (freed by `close()`). */
  pool?: VideoLoaderPool;
  /**
   * Applied to each clip after loading (e.g. normalise); the input is disposed for you, and so is
   * every other tensor it makes but does not return (it runs in tf.tidy).
   */
  transform?: (clip: tf.Tensor4D, spec: VideoClip) => tf.Tensor4D;
}

/** Clips of (path, frame indices), each loaded as one [T, H, W, C] tensor through a loader pool. */
export class VideoDataset implements AsyncDataset<Clip> {
  readonly clips: readonly VideoClip[];
  private readonly pool: VideoLoaderPool;
  private readonly ownsPool: boolean;

  constructor(
    clips: readonly VideoClip[],
    private readonly options: VideoDatasetOptions = {},
  ) {
    if (!Array.isArray(clips)) throw new InvalidArgumentError(`VideoDataset: expected an array of clips, got ${describeValue(clips)}`);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(`VideoDataset: expected an options object, got ${describeValue(options)}`);
    rejectUnknownOptions(options, ['loaderOptions', 'pool', 'transform'], 'the options of VideoDataset');
    clips.forEach((c, i) => {
      if (typeof c?.path !== 'string' || !Array.isArray(c.frames) || c.frames.length === 0) {
        throw new InvalidArgumentError(`clip ${i}: expected { path: string, frames: number[] (non-empty) }`);
      }
    });
    this.clips = clips;
    this.pool = options.pool ?? new VideoLoaderPool({ slots: { cpu: 2 } });
    this.ownsPool = options.pool === undefined;
  }

  /** Closes the loaders its own pool keeps open between clips (a pool passed in is the caller's to close). */
  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.close();
  }

  get length(): number {
    return this.clips.length;
  }

  describe(index: number): string {
    const c = this.clips[index];
    const frames = c.frames.length > 6 ? `${c.frames.slice(0, 6).join(', ')}, ... (${c.frames.length})` : c.frames.join(', ');
    return `${c.path} frames [${frames}]`;
  }

  /**
   * The clips `indices` as one [B, T, H, W, C] batch, for BatchDataLoader: per file, one native
   * call decodes that file's clips straight into their slots of one buffer, and every call is
   * started before `started` resolves (startClipBatch). With a `transform`, it is applied to each
   * clip of the decoded batch and the results are stacked (they must have one shape).
   */
  startBatch(indices: number[], signal: AbortSignal, options: StartBatchOptions = {}): BatchStart<Clip> {
    const specs = indices.map((i) => {
      const spec = this.clips[i];
      if (spec === undefined) throw new InvalidArgumentError(`clip ${i} is out of range (the dataset has ${this.length})`);
      return spec;
    });
    const { started, done } = startClipBatch(specs, {
      pool: this.pool,
      loaderOptions: this.options.loaderOptions,
      signal,
      describe: (b) => this.describe(indices[b]),
      itemName: (b) => ({ index: indices[b] }),
      memory: options.memory,
    });
    const { transform } = this.options;
    return {
      started,
      done: done.then(({ data }) => ({
        data: transform ? this.transformBatch(data as tf.Tensor5D, indices, transform) : data,
        items: specs.map(batchedClip),
      })),
    };
  }

  /** `transform` on each clip of a decoded batch, stacked again; `batch` is disposed either way. */
  private transformBatch(batch: tf.Tensor5D, indices: number[], transform: NonNullable<VideoDatasetOptions['transform']>): tf.Tensor {
    const outputs: tf.Tensor4D[] = [];
    try {
      const clips = tf.unstack(batch) as tf.Tensor4D[];
      try {
        clips.forEach((clip, b) => {
          try {
            outputs.push(tf.tidy(() => transform(clip, this.clips[indices[b]])));
          } catch (err) {
            throw new DatasetItemError(indices[b], this.describe(indices[b]), err);
          }
        });
      } finally {
        tf.dispose(clips);
      }
      const k = outputs.findIndex((t) => t.shape.join() !== outputs[0].shape.join() || t.dtype !== outputs[0].dtype);
      if (k > 0) {
        throw new InvalidArgumentError(
          `a batch needs clips of one shape, but the transform made [${outputs[0].shape}] ${outputs[0].dtype} of ${this.describe(indices[0])} ` +
            `and [${outputs[k].shape}] ${outputs[k].dtype} of ${this.describe(indices[k])}`,
        );
      }
      return tf.stack(outputs);
    } finally {
      batch.dispose();
      tf.dispose(outputs);
    }
  }

  async get(index: number, options: { signal?: AbortSignal } = {}): Promise<Clip> {
    const spec = this.clips[index];
    if (spec === undefined) throw new InvalidArgumentError(`clip ${index} is out of range (the dataset has ${this.length})`);
    const data = await this.pool.withLoader(spec.path, (vl) => vl.selectFrameBatch(spec.frames, { signal: options.signal }), {
      signal: options.signal,
      loaderOptions: this.options.loaderOptions,
    });
    if (!this.options.transform) return { data, spec };
    try {
      return { data: tf.tidy(() => this.options.transform!(data, spec)), spec };
    } finally {
      data.dispose();
    }
  }
}

/** A clip of a batch loaded whole (startBatch): its frames are the batch's `data[b]`, not a tensor of its own. */
function batchedClip(spec: VideoClip): Clip {
  return {
    spec,
    get data(): tf.Tensor4D {
      throw new InvalidArgumentError(`this clip (${spec.path}) was loaded as part of a batch: its frames are in the batch's data`);
    },
  };
}

/** More clips than any video yields: a sign of a wrong nFrames, before it exhausts memory. */
const MAX_SLIDING_CLIPS = 10_000_000;

/** Evenly spaced clips of `length` frames `stride` apart, over a video of `nFrames` frames. */
export function slidingClips(
  path: string,
  nFrames: number,
  length: number,
  options: { stride?: number; step?: number; label?: unknown } = {},
): VideoClip[] {
  if (typeof path !== 'string') throw new InvalidArgumentError(`slidingClips: expected a path string but received ${describeValue(path)}`);
  if (!Number.isInteger(nFrames) || nFrames < 0)
    throw new InvalidArgumentError(`slidingClips: expected nFrames to be an integer >= 0 but received ${describeValue(nFrames)}`);
  if (!Number.isInteger(length) || length < 1)
    throw new InvalidArgumentError(`slidingClips: expected length to be an integer >= 1 but received ${describeValue(length)}`);
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`slidingClips: expected options to be an object but received ${describeValue(options)}`);
  const stride = options.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1)
    throw new InvalidArgumentError(`slidingClips: expected stride to be an integer >= 1 but received ${describeValue(stride)}`);
  const span = (length - 1) * stride + 1;
  const step = options.step ?? span;
  if (!Number.isInteger(step) || step < 1)
    throw new InvalidArgumentError(`slidingClips: expected step to be an integer >= 1 but received ${describeValue(step)}`);
  const count = nFrames >= span ? Math.floor((nFrames - span) / step) + 1 : 0;
  if (count > MAX_SLIDING_CLIPS) {
    throw new InvalidArgumentError(
      `slidingClips: ${count} clips of ${length} frames is more than ${MAX_SLIDING_CLIPS} (is nFrames ${nFrames} right?); use a larger step`,
    );
  }
  const out: VideoClip[] = [];
  for (let start = 0; start + span <= nFrames; start += step) {
    out.push({ path, frames: Array.from({ length }, (_, k) => start + k * stride), label: options.label });
  }
  return out;
}

export interface Batch<T> {
  /** Items stacked on a new first axis: [B, T, H, W, C] for clips. */
  data: tf.Tensor;
  /** Dataset indices of the items, in batch order. */
  indices: number[];
  /**
   * The items themselves, without their tensors: those were stacked into `data` and disposed (for a
   * VideoDataset batch loaded whole, a clip's `data` throws, saying its frames are in `data`).
   */
  items: T[];
}

export interface BatchDataLoaderOptions<T> {
  batchSize: number;
  /** Reshuffle every epoch; the order depends only on `seed` and the epoch (default false). */
  shuffle?: boolean;
  seed?: number;
  /** Drop a last, smaller batch (default false). */
  dropLast?: boolean;
  /** Batches loading ahead of the one handed out (default 2). */
  prefetch?: number;
  /** Items of one batch loaded at once (default: the batch size). */
  concurrency?: number;
  /** This process's share: items at positions where position % worldSize === rank (default 0 of 1). */
  rank?: number;
  worldSize?: number;
  signal?: AbortSignal;
  /** How items become the batch tensor; default stacks `item.data` (or the item, if a tensor). */
  collate?: (items: T[]) => tf.Tensor;
  /**
   * Reuse the memory of batches whose `data` you have disposed for later batches, instead of new
   * memory each batch: no garbage for V8 to collect on the main thread (default false). Where a
   * dataset loads whole batches (VideoDataset); otherwise it has no effect. A batch's memory comes
   * back only once no tensor holds its data (clones and reshapes included). Arrays that view it
   * without a tensor's reference (a slice of `data` on tfjs-backend-cpu, what `dataSync()`
   * returned) are overwritten by a later batch: copy what you keep before disposing the batch.
   */
  reuseMemory?: boolean;
}

const BATCH_DATA_LOADER_OPTION_NAMES = Object.keys({
  batchSize: true,
  shuffle: true,
  seed: true,
  dropLast: true,
  prefetch: true,
  concurrency: true,
  rank: true,
  worldSize: true,
  signal: true,
  collate: true,
  reuseMemory: true,
} satisfies Record<keyof BatchDataLoaderOptions<unknown>, true>);

function tensorOf(item: unknown): tf.Tensor | undefined {
  if (item instanceof tf.Tensor) return item;
  const data = (item as { data?: unknown })?.data;
  return data instanceof tf.Tensor ? data : undefined;
}

function disposeItem(item: unknown): void {
  tensorOf(item)?.dispose();
}

/**
 * Batches from an AsyncDataset, as an async iterable (one pass = one epoch; iterate again for
 * the next). Up to `prefetch` batches load while the caller works on the current one; the
 * caller disposes each batch's `data`. Breaking out of the loop, an error, or the signal stops
 * loading and disposes whatever was loaded but not handed out.
 */
export class BatchDataLoader<T> implements AsyncIterable<Batch<T>> {
  private epoch = 0;
  /** Batch memory reused across batches and epochs (reuseMemory), else undefined. */
  private readonly memory?: BatchMemory;
  private readonly o: Required<Omit<BatchDataLoaderOptions<T>, 'signal' | 'collate'>> &
    Pick<BatchDataLoaderOptions<T>, 'signal' | 'collate'>;

  constructor(
    private readonly dataset: AsyncDataset<T>,
    options: BatchDataLoaderOptions<T>,
  ) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(`BatchDataLoader: expected options with a batchSize, got ${describeValue(options)}`);
    if (dataset === null || typeof dataset !== 'object' || !Number.isInteger(dataset.length) || typeof dataset.get !== 'function') {
      throw new InvalidArgumentError(`BatchDataLoader: expected a dataset ({ length, get(i) }), got ${describeValue(dataset)}`);
    }
    rejectUnknownOptions(options, BATCH_DATA_LOADER_OPTION_NAMES, 'the options of BatchDataLoader');
    const o = {
      shuffle: false,
      seed: 0,
      dropLast: false,
      prefetch: 2,
      rank: 0,
      worldSize: 1,
      concurrency: options.batchSize,
      reuseMemory: false,
      ...options,
    };
    const positiveInt = (v: number, name: string, min = 1) => {
      if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${describeValue(v)}`);
    };
    positiveInt(o.batchSize, 'batchSize');
    positiveInt(o.prefetch, 'prefetch', 0);
    positiveInt(o.concurrency, 'concurrency');
    positiveInt(o.worldSize, 'worldSize');
    if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) {
      throw new InvalidArgumentError(
        `rank must be an integer in [0, worldSize) = [0, ${describeValue(o.worldSize)}), got ${describeValue(o.rank)}`,
      );
    }
    booleanOption(o.reuseMemory, 'reuseMemory');
    this.o = o;
    // The batches loading (prefetch + 1) and the one the caller holds.
    if (o.reuseMemory) this.memory = new BatchMemory({ buffers: o.prefetch + 2 });
  }

  /** This process's item indices for an epoch, in load order. */
  order(epoch = this.epoch): number[] {
    const n = this.dataset.length;
    const all = Array.from({ length: n }, (_, i) => i);
    if (this.o.shuffle) {
      // Same permutation on every rank (seed and epoch only), then each rank takes its share.
      const rand = seededRandom(this.o.seed * 1000003 + epoch);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [all[i], all[j]] = [all[j], all[i]];
      }
    }
    // Equal shares: the tail that does not divide evenly is left out, so ranks stay in step.
    const perRank = Math.floor(n / this.o.worldSize);
    return all.slice(0, perRank * this.o.worldSize).filter((_, pos) => pos % this.o.worldSize === this.o.rank);
  }

  /** Batches per epoch for this rank. */
  get length(): number {
    const n = this.order().length;
    return this.o.dropLast ? Math.floor(n / this.o.batchSize) : Math.ceil(n / this.o.batchSize);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Batch<T>> {
    const order = this.order(this.epoch++);
    const groups: number[][] = [];
    for (let i = 0; i < order.length; i += this.o.batchSize) {
      const g = order.slice(i, i + this.o.batchSize);
      if (g.length === this.o.batchSize || !this.o.dropLast) groups.push(g);
    }
    const stop = new AbortController();
    // Every item loading in flight listens on it (batch size x (prefetch + 1)): not a leak.
    setMaxListeners(0, stop.signal);
    const outer = this.o.signal;
    const onOuterAbort = () => stop.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    let next = 0;
    const startNext = (): StartedBatch<Batch<T>> | undefined => {
      if (next >= groups.length) return undefined;
      const indices = groups[next++];
      const { started, done } = this.startBatch(indices, stop.signal);
      return { started, done: done.then(({ data, items }) => ({ data, indices, items })) };
    };
    try {
      yield* prefetchBatches(
        startNext,
        this.o.prefetch,
        (b) => b.data.dispose(),
        () => (outer?.aborted ? new AbortedError('batch loading was aborted', { cause: outer.reason }) : undefined),
      );
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
      stop.abort();
    }
  }

  /** A batch through the dataset's own batch loading when it has one (and no collate), else item by item. */
  private startBatch(indices: number[], signal: AbortSignal): BatchStart<T> {
    let start: BatchStart<T> | null = null;
    if (!this.o.collate && typeof this.dataset.startBatch === 'function') {
      try {
        start = this.dataset.startBatch(indices, signal, { memory: this.memory });
      } catch (err) {
        return { started: Promise.resolve(), done: Promise.reject(err) };
      }
    }
    return start ?? { started: Promise.resolve(), done: this.loadBatch(indices, signal) };
  }

  private async loadBatch(indices: number[], signal: AbortSignal): Promise<{ data: tf.Tensor; items: T[] }> {
    const items: (T | undefined)[] = new Array(indices.length);
    let failure: unknown;
    let cursor = 0;
    const worker = async () => {
      while (cursor < indices.length && failure === undefined) {
        const k = cursor++;
        try {
          items[k] = await this.dataset.get(indices[k], { signal });
        } catch (err) {
          failure ??= signal.aborted
            ? err
            : new DatasetItemError(indices[k], this.dataset.describe?.(indices[k]) ?? `index ${indices[k]}`, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, indices.length) }, worker));
    if (failure !== undefined) {
      items.forEach(disposeItem);
      throw failure;
    }
    const loaded = items as T[];
    try {
      const data = this.o.collate ? this.o.collate(loaded) : this.stackItems(loaded, indices);
      return { data, items: loaded };
    } finally {
      loaded.forEach(disposeItem);
    }
  }

  /** The default collate: the items' tensors stacked, after checking they can be (naming those that cannot). */
  private stackItems(items: T[], indices: number[]): tf.Tensor {
    const name = (k: number) => this.dataset.describe?.(indices[k]) ?? `item ${indices[k]}`;
    const tensors = items.map((item, k) => {
      const t = tensorOf(item);
      if (!t) throw new InvalidArgumentError(`dataset item ${indices[k]} (${name(k)}) has no tensor \`data\`: pass a collate function`);
      return t;
    });
    const first = tensors[0];
    const k = tensors.findIndex((t) => t.dtype !== first.dtype || t.shape.join() !== first.shape.join());
    if (k > 0) {
      throw new InvalidArgumentError(
        `a batch needs items of one shape and dtype, but ${name(0)} is [${first.shape}] ${first.dtype} and ${name(k)} is ` +
          `[${tensors[k].shape}] ${tensors[k].dtype}: give every clip the same number of frames and an outWidth/outHeight, or pass a collate function`,
      );
    }
    return tf.stack(tensors);
  }
}
