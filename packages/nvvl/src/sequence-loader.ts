/**
 * SequenceLoader: NVVL-style clip loading. A batch of sequences (consecutive frames of one video,
 * with a stride) goes through core's one batch path (startClipBatch): videos opened by
 * VideoLoader in a VideoLoaderPool (kept open between batches, at most maxOpenVideos, with
 * VideoLoader's fallback policy), planned by core from each loader's decoder position, and
 * decoded straight into one [B, T, H, W, C] (or [B, T, C, H, W]) buffer. What is nvvl's own is the
 * processing (resize, crop, flip, normalise, ...), fused by the backend into its colour conversion:
 * one native call per sequence (each has its own crop and flip), or per video when every sequence
 * of it gets the same.
 */
import type * as tf from '@tensorflow/tfjs-core';
import {
  AbortedError,
  InvalidArgumentError,
  LoaderClosedError,
  VideoLoaderPool,
  formatDevice,
  parseDevice,
  type Device,
  type VideoLoader,
} from '@tvl/core';
import {
  BatchMemory,
  booleanOption,
  prefetchBatches,
  rejectUnknownOptions,
  startClipBatch,
  type ClipBatchStart,
  type StartedBatch,
} from '@tvl/core/backend';
import { emulationBackendOptions } from './emulate.js';
import {
  augmentationDraws,
  augmentationOf,
  processedOutput,
  resolveProcessing,
  sequenceFrames,
  type Augmentation,
  type SequenceProcessing,
} from './processing.js';
export interface SequenceSpec {
  path: string;
  /** First frame (0-based, presentation order). */
  start: number;
  /** Frames in the sequence (T). */
  count: number;
  /** Step between frames (default 1: consecutive). */
  stride?: number;
}

export interface SequenceLoaderOptions {
  /** 'cuda' (default), 'cuda:N', or 'cpu' (software decoding, the same fused processing on the CPU). */
  device?: string | Device;
  /** 'cpu': when the GPU cannot decode a video (no driver/GPU, codec), decode it on the CPU path and say so. */
  fallback?: 'none' | 'cpu';
  /** Software decoder threads (CPU path); default: all cores. */
  threads?: number;
  /** Videos kept open between calls (default 4). */
  maxOpenVideos?: number;
  /**
   * Write later batches into the memory of batches whose tensor you have disposed (default false),
   * as BatchDataLoader's `reuseMemory`: no new memory for V8 to collect on the main thread. Arrays
   * that view a batch without a tensor's reference (a kept `dataSync()` result, a slice on
   * tfjs-backend-cpu) are overwritten then: copy them before disposing the batch.
   */
  reuseMemory?: boolean;
}

export interface SequenceBatch {
  /** [B, T, H, W, C] ('hwc') or [B, T, C, H, W] ('chw'); float32 or int32. */
  tensor: tf.Tensor5D;
  /** What each sequence received: crop offset in the resized frame, and whether it was flipped. */
  augmentation: Augmentation[];
  /** The device that decoded each sequence ('cuda:0', or 'cpu' after a fallback). */
  devices: string[];
  /** Why a sequence's video was decoded on the CPU though a GPU was asked for (per sequence, or undefined). */
  fallbackReasons: (string | undefined)[];
}

export interface LoadOptions {
  signal?: AbortSignal;
}

export class SequenceLoader implements AsyncDisposable {
  readonly device: Device;
  private readonly pool: VideoLoaderPool;
  private calls = 0;
  private closed = false;
  /** Batch memory used again (reuseMemory), else undefined. */
  private readonly memory?: BatchMemory;
  /** Loads not finished yet: close() waits for them. */
  private readonly loading = new Set<Promise<unknown>>();

  constructor(options: SequenceLoaderOptions = {}) {
    rejectUnknownOptions(options, ['device', 'fallback', 'threads', 'maxOpenVideos', 'reuseMemory'], 'the options of SequenceLoader');
    this.device = parseDevice(options.device ?? 'cuda');
    const fallback = options.fallback ?? 'none';
    if (fallback !== 'none' && fallback !== 'cpu')
      throw new InvalidArgumentError(`fallback must be 'none' or 'cpu', got ${JSON.stringify(fallback)}`);
    const maxOpen = options.maxOpenVideos ?? 4;
    if (!Number.isInteger(maxOpen) || maxOpen < 1)
      throw new InvalidArgumentError(`maxOpenVideos must be a positive integer, got ${maxOpen}`);
    // Enough for batches() with its default prefetch of 2: those loading and the one the caller holds.
    if (booleanOption(options.reuseMemory, 'reuseMemory')) this.memory = new BatchMemory({ buffers: 4 });
    // The test switch rides along under its symbol (see emulate.ts), invisible to option checks.
    const backendOptions = emulationBackendOptions(options);
    this.pool = new VideoLoaderPool({
      slots: { [formatDevice(this.device)]: maxOpen },
      loaderOptions: {
        backend: 'nvvl',
        // nvvl's own CPU path after a fallback: the same conversion maths, and it fuses the processing.
        fallback,
        fallbackBackend: 'nvvl',
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(backendOptions ? { backendOptions } : {}),
      },
    });
  }

  /**
   * Loads a batch of sequences into one tensor. Its native calls start as soon as its videos are
   * open (already, for videos kept open), whatever the caller does meanwhile; the augmentation of
   * call n is drawn from seed + n, so a run is reproducible.
   */
  load(sequences: readonly SequenceSpec[], processing: SequenceProcessing = {}, options: LoadOptions = {}): Promise<SequenceBatch> {
    try {
      return this.start(sequences, processing, options.signal).done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Loads batch after batch, with `prefetch` batches (default 2) decoding natively ahead of the one
   * the caller has, so they go on while the caller's training step blocks the thread; memory holds
   * at most prefetch + 1 batches. Breaking out of the loop or aborting disposes what was decoded ahead.
   */
  async *batches(
    batches: Iterable<readonly SequenceSpec[]> | AsyncIterable<readonly SequenceSpec[]>,
    processing: SequenceProcessing = {},
    options: LoadOptions & { prefetch?: number } = {},
  ): AsyncGenerator<SequenceBatch> {
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new InvalidArgumentError(`prefetch must be an integer >= 0, got ${prefetch}`);
    const source = (
      Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : (batches as Iterable<readonly SequenceSpec[]>)[Symbol.iterator]()
    ) as AsyncIterator<readonly SequenceSpec[]> | Iterator<readonly SequenceSpec[]>;
    const next = async (): Promise<StartedBatch<SequenceBatch> | undefined> => {
      const item = await source.next();
      if (item.done) return undefined;
      try {
        return this.start(item.value, processing, options.signal);
      } catch (err) {
        return { started: Promise.resolve(), done: Promise.reject(err) };
      }
    };
    yield* prefetchBatches(
      next,
      prefetch,
      (b) => b.tensor.dispose(),
      () => (options.signal?.aborted ? new AbortedError('Aborted while loading sequences', { cause: options.signal.reason }) : undefined),
    );
  }

  /** Waits for loads in flight, then closes every open video; later calls throw TVL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.loading]);
    await this.pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Videos open right now (kept between batches, at most maxOpenVideos). */
  get openVideos(): number {
    return this.pool.idleLoaders + Object.values(this.pool.active).reduce((a, b) => a + b, 0);
  }

  /** Checks a batch and starts its native calls (they are started when `started` resolves). */
  private start(sequences: readonly SequenceSpec[], processing: SequenceProcessing, signal?: AbortSignal): StartedBatch<SequenceBatch> {
    if (this.closed) throw new LoaderClosedError('The SequenceLoader is closed');
    if (signal?.aborted) throw new AbortedError('Aborted while loading sequences', { cause: signal.reason });
    if (!Array.isArray(sequences) || sequences.length === 0) throw new InvalidArgumentError('sequences must be a non-empty array');
    const clips = sequences.map((s, b) => {
      if (!s || typeof s.path !== 'string' || s.path.length === 0)
        throw new InvalidArgumentError(`sequence ${b} needs a path, got ${JSON.stringify(s)}`);
      return { path: s.path, frames: sequenceFrames(s.start, s.count, s.stride) };
    });
    // The draws are the call's; each sequence's crop range is its own video's (known once open).
    const seed = processing?.seed ?? 0;
    const draws = augmentationDraws(sequences.length, (Number.isInteger(seed) ? seed : 0) + this.calls++);
    const augmentation: Augmentation[] = new Array(sequences.length);
    // Cancels the batch's other calls when the caller aborts or one call fails.
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let batch: ClipBatchStart;
    try {
      batch = startClipBatch(clips, {
        pool: this.pool,
        signal: stop.signal,
        describe: (b) => {
          const s = sequences[b];
          return `'${s.path}' start ${s.start}, count ${s.count}, stride ${s.stride ?? 1}`;
        },
        itemName: (b) => ({ index: b, noun: 'sequence' }),
        memory: this.memory,
        processed: (b, video: VideoLoader) => {
          const r = resolveProcessing(processing, video.info);
          augmentation[b] = augmentationOf(r, draws[b]);
          return processedOutput(r, augmentation[b]);
        },
      });
    } catch (err) {
      signal?.removeEventListener('abort', onAbort);
      throw err;
    }
    const done = batch.done
      .then(({ data, sources }) => ({
        tensor: data as tf.Tensor5D,
        augmentation,
        devices: sources.map((s) => s.device),
        fallbackReasons: sources.map((s) => s.fallbackReason),
      }))
      .catch((err: unknown) => {
        stop.abort();
        throw signal?.aborted ? new AbortedError('Aborted while loading sequences', { cause: signal.reason }) : err;
      })
      .finally(() => signal?.removeEventListener('abort', onAbort));
    const tracked = done.catch(() => undefined);
    this.loading.add(tracked);
    void tracked.then(() => this.loading.delete(tracked));
    return { started: batch.started, done };
  }
}

/** One batch with a loader made for it and closed after: for scripts; training loops keep a SequenceLoader. */
export async function loadSequences(
  sequences: readonly SequenceSpec[],
  processing: SequenceProcessing = {},
  options: SequenceLoaderOptions & LoadOptions = {},
): Promise<tf.Tensor5D> {
  const { signal, ...loaderOptions } = options;
  const loader = new SequenceLoader(loaderOptions);
  try {
    return (await loader.load(sequences, processing, { signal })).tensor;
  } finally {
    await loader.close();
  }
}
