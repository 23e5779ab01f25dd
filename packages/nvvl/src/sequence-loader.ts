/**
 * SequenceLoader: NVVL-style clip loading. Each sequence (consecutive frames of one video, with a
 * stride) is one plan and one native call; the processing (resize, crop, flip, normalise, ...)
 * happens in the same pass as colour conversion, and the batch comes back as one tensor
 * [B, T, H, W, C] (or [B, T, C, H, W]). Open videos are kept (at most maxOpenVideos, least
 * recently used closed first), so a loader over a dataset does not re-index a file per clip.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  AbortedError,
  FrameIndex,
  IndexOutOfRangeError,
  InvalidArgumentError,
  LoaderClosedError,
  fromNativeError,
  parseDevice,
  formatDevice,
  type Device,
  type TvlError,
  type VideoInfo,
} from '@tvl/core';
import {
  checkDelivered,
  cpuFallbackReason,
  planDecode,
  planOutputOrder,
  rejectUnknownOptions,
  withCancel,
  type FrameBuffer,
  type OutputSpec,
} from '@tvl/core/backend';
import { nvvlCostModel } from './cost-model.js';
import { emulatesNvdecSurface } from './emulate.js';
import { loadAddon, type NvvlNativeSession } from './native.js';
import {
  augmentations,
  nativeProcessing,
  resolveProcessing,
  sequenceFrames,
  type Augmentation,
  type ResolvedProcessing,
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

interface OpenVideo {
  session: NvvlNativeSession;
  index: FrameIndex;
  info: VideoInfo;
  device: string;
  fallbackReason?: string;
  /** Last frame delivered, or null when unknown. */
  position: number | null;
}

export class SequenceLoader implements AsyncDisposable {
  readonly device: Device;
  private readonly fallback: 'none' | 'cpu';
  private readonly threads: number;
  private readonly maxOpen: number;
  private readonly emulate: boolean;
  /** Insertion order = least recently used first. */
  private readonly open = new Map<string, Promise<OpenVideo>>();
  private tail: Promise<unknown> = Promise.resolve();
  private calls = 0;
  private closed = false;

  constructor(options: SequenceLoaderOptions = {}) {
    this.device = parseDevice(options.device ?? 'cuda');
    this.fallback = options.fallback ?? 'none';
    if (this.fallback !== 'none' && this.fallback !== 'cpu')
      throw new InvalidArgumentError(`fallback must be 'none' or 'cpu', got ${JSON.stringify(this.fallback)}`);
    this.threads = options.threads ?? 0;
    this.maxOpen = options.maxOpenVideos ?? 4;
    if (!Number.isInteger(this.maxOpen) || this.maxOpen < 1)
      throw new InvalidArgumentError(`maxOpenVideos must be a positive integer, got ${this.maxOpen}`);
    rejectUnknownOptions(options, ['device', 'fallback', 'threads', 'maxOpenVideos'], 'the options of SequenceLoader');
    this.emulate = emulatesNvdecSurface(options);
  }

  /**
   * Loads a batch of sequences into one tensor. Calls on one loader run one at a time, in order;
   * the augmentation of call n is drawn from seed + n, so a run is reproducible.
   */
  load(sequences: readonly SequenceSpec[], processing: SequenceProcessing = {}, options: LoadOptions = {}): Promise<SequenceBatch> {
    if (this.closed) return Promise.reject(new LoaderClosedError('The SequenceLoader is closed'));
    const call = this.calls++;
    const run = () => this.loadNow(sequences, processing, call, options.signal);
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /**
   * Loads batch after batch, decoding up to `prefetch` batches (default 2) ahead of the caller, so
   * the next batch decodes while the current one trains; memory holds at most prefetch + 1
   * batches. Breaking out of the loop or aborting disposes what was decoded ahead.
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
    const ahead: Promise<SequenceBatch>[] = [];
    let exhausted = false;
    const fill = async () => {
      while (!exhausted && ahead.length < prefetch + 1) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const p = this.load(next.value, processing, options);
        p.catch(() => undefined); // surfaced when its turn comes
        ahead.push(p);
      }
    };
    try {
      for (;;) {
        if (options.signal?.aborted) throw new AbortedError('Aborted while loading sequences', { cause: options.signal.reason });
        await fill();
        const p = ahead.shift();
        if (!p) return;
        yield await p;
      }
    } finally {
      for (const p of ahead.splice(0))
        p.then(
          (b) => b.tensor.dispose(),
          () => undefined,
        );
    }
  }

  /** Closes every open video; later calls throw TVL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(
      all.map(async (p) => {
        try {
          await (await p).session.close();
        } catch {
          /* never opened */
        }
      }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Videos open right now. */
  get openVideos(): number {
    return this.open.size;
  }

  private async loadNow(
    sequences: readonly SequenceSpec[],
    processing: SequenceProcessing,
    call: number,
    signal?: AbortSignal,
  ): Promise<SequenceBatch> {
    if (!Array.isArray(sequences) || sequences.length === 0) throw new InvalidArgumentError('sequences must be a non-empty array');
    const frames = sequences.map((s) => {
      if (!s || typeof s.path !== 'string' || s.path.length === 0)
        throw new InvalidArgumentError(`each sequence needs a path, got ${JSON.stringify(s)}`);
      return sequenceFrames(s.start, s.count, s.stride);
    });
    const T = frames[0].length;
    if (frames.some((f) => f.length !== T)) throw new InvalidArgumentError('every sequence of a batch must have the same count (T)');
    // One sequence at a time, each decoded right after its video is opened: with more distinct
    // videos in a batch than maxOpenVideos, one opened earlier in the batch may be closed again.
    const videos: OpenVideo[] = [];
    let first: { r: ResolvedProcessing; spec: OutputSpec; data: Float32Array | Int32Array; augmentation: Augmentation[] } | null = null;
    for (let b = 0; b < sequences.length; b++) {
      const s = sequences[b];
      if (signal?.aborted) throw new AbortedError('Aborted while loading sequences', { cause: signal.reason });
      const video = await this.video(s.path, signal);
      videos.push(video);
      const o = resolveProcessing(processing, video.info);
      if (!first) {
        const spec: OutputSpec = { width: o.width, height: o.height, dtype: o.dtype, layout: o.layout };
        const n = sequences.length * T * spec.width * spec.height * 3;
        first = {
          r: o,
          spec,
          data: o.dtype === 'float32' ? new Float32Array(n) : new Int32Array(n),
          augmentation: augmentations(o, sequences.length, o.seed + call),
        };
      } else if (
        o.width !== first.r.width ||
        o.height !== first.r.height ||
        o.resizeWidth !== first.r.resizeWidth ||
        o.resizeHeight !== first.r.resizeHeight
      ) {
        throw new InvalidArgumentError(
          `sequence ${b} ('${s.path}') is ${video.info.width}x${video.info.height} while sequence 0 is ` +
            `${videos[0].info.width}x${videos[0].info.height}: give resize (and crop) so every frame of a batch has one size`,
        );
      }
      const last = frames[b][T - 1];
      if (last >= video.index.length) {
        throw new IndexOutOfRangeError(
          `sequence ${b} (start ${s.start}, count ${s.count}, stride ${s.stride ?? 1}) needs frame ${last} but '${s.path}' has ${video.index.length} frames`,
          { path: s.path, frameIndex: last },
        );
      }
      await this.decodeSequence(video, s.path, frames[b], first.spec, first.r, first.augmentation[b], first.data, b * T, signal);
    }
    const { r, data, augmentation } = first!;
    const shape: [number, number, number, number, number] =
      r.layout === 'chw' ? [sequences.length, T, 3, r.height, r.width] : [sequences.length, T, r.height, r.width, 3];
    return {
      tensor: tf.tensor5d(data, shape, r.dtype),
      augmentation,
      devices: videos.map((v) => v.device),
      fallbackReasons: videos.map((v) => v.fallbackReason),
    };
  }

  private async decodeSequence(
    video: OpenVideo,
    path: string,
    frames: number[],
    spec: OutputSpec,
    r: ResolvedProcessing,
    a: Augmentation,
    data: Float32Array | Int32Array,
    firstSlot: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const plan = planDecode(video.index, frames, video.position, nvvlCostModel(parseDevice(video.device).kind));
    const perFrame = spec.width * spec.height * 3;
    // Frame f of the sequence goes to slot firstSlot + t of the batch buffer.
    const slotOf = new Map(frames.map((f, t) => [f, firstSlot + t]));
    const buffers = planOutputOrder(plan).map((f) =>
      data.subarray(slotOf.get(f)! * perFrame, (slotOf.get(f)! + 1) * perFrame),
    ) as FrameBuffer[];
    try {
      const result = await withCancel(signal, (cancel) => video.session.decode(plan, spec, buffers, cancel, nativeProcessing(r, a)));
      video.position = result.continuable ? result.position : null;
      checkDelivered(planOutputOrder(plan), result.delivered, 'nvvl', path);
    } catch (err) {
      video.position = null;
      throw fromNativeError(err, path);
    }
  }

  /** The open video for a path (opening it, and closing the least recently used one, if needed). */
  private async video(path: string, signal?: AbortSignal): Promise<OpenVideo> {
    let p = this.open.get(path);
    if (p) {
      this.open.delete(path);
      this.open.set(path, p);
      return p;
    }
    while (this.open.size >= this.maxOpen) {
      const [oldest, victim] = this.open.entries().next().value as [string, Promise<OpenVideo>];
      this.open.delete(oldest);
      await victim.then(
        (v) => v.session.close(),
        () => undefined,
      );
    }
    p = this.openVideo(path, signal);
    this.open.set(path, p);
    p.catch(() => this.open.get(path) === p && this.open.delete(path));
    return p;
  }

  private async openVideo(path: string, signal?: AbortSignal): Promise<OpenVideo> {
    const addon = loadAddon();
    const openOn = async (device: Device): Promise<OpenVideo> => {
      const session = await withCancel(signal, (cancel) =>
        addon.openVideo(
          path,
          {
            device: device.kind === 'cuda' ? device.ordinal : -1,
            threads: this.threads,
            emulateNvdecSurface: this.emulate,
          },
          cancel,
        ),
      );
      return { session, index: new FrameIndex(session.index), info: session.info, device: formatDevice(device), position: -1 };
    };
    try {
      return await openOn(this.device);
    } catch (err) {
      const error: TvlError = fromNativeError(err, path);
      const reason = this.fallback === 'cpu' ? cpuFallbackReason(this.device, path, error) : null;
      if (reason === null) throw error;
      try {
        const video = await openOn(parseDevice('cpu'));
        video.fallbackReason = reason;
        return video;
      } catch (cpuErr) {
        throw fromNativeError(cpuErr, path);
      }
    }
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
