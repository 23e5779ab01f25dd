/**
 * VideoLoader: the one API over every backend. It validates, plans and wraps; the backend
 * decodes. Operations on one loader run one at a time (in call order); separate loaders decode
 * concurrently on libuv's worker threads.
 */
import os from 'node:os';
import type * as tf from '@tensorflow/tfjs-core';
import { tensor } from '@tensorflow/tfjs-core';
import type {
  BackendFactory,
  BackendOpenOptions,
  BackendVideo,
  DecodeResult,
  FrameBuffer,
  FrameProcessing,
  OutputSpec,
  VideoInfo,
} from './backend.js';
import { parseDevice, formatDevice, type Device } from './device.js';
import {
  AbortedError,
  EndOfVideoError,
  IndexOutOfRangeError,
  InvalidArgumentError,
  LoaderClosedError,
  describeValue,
  fromNativeError,
  type TvlError,
} from './errors.js';
import { FrameIndex, type IndexMode } from './frame-index.js';
import {
  allocateFrameBuffer,
  allocateUninitialised,
  bufferToTensor,
  bytesPerFrame,
  checkDtype,
  checkLayout,
  frameElementCount,
  frameShape,
  resolveOutputSize,
  withoutTfjsBackend,
  type TensorDtype,
} from './output.js';
import { booleanOption, rejectUnknownOptions } from './options.js';
import { BatchMemory } from './batch-memory.js';
import { resolveBackend } from './registry.js';
import { indexCacheDir, indexCacheEntry, readIndexCache, writeIndexCache } from './index-cache.js';
import { DEFAULT_COST_MODEL, FROM_CACHE, checkDelivered, planDecode, planOutputOrder, type SeekCostModel } from './seek-planner.js';

/**
 * The `backendOptions` type of each backend, by name: backend packages add theirs by declaration
 * merging (`declare module '@tvl/core' { interface BackendOptionsByName { opencv: OpencvBackendOptions } }`),
 * so `VideoLoader.open(path, { backend: 'opencv', backendOptions: { colour: 'opencv' } })` is typed.
 */
export interface BackendOptionsByName {}

/** The options of backend `B`, where its package declares them; else any object. */
export type BackendOptionsFor<B extends string> = B extends keyof BackendOptionsByName ? BackendOptionsByName[B] : Record<string, unknown>;

export interface VideoLoaderOptions<B extends string = string> {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string | Device;
  /** Backend name for the device ('libav', 'opencv', 'nvdec', ...); default: the pinned one, else by a fixed preference (see registry.ts). */
  backend?: B;
  /** 'float32' (RGB in [0, 1], default) or 'int32' (0..255). */
  dtype?: TensorDtype;
  /** 'hwc' ([H, W, 3], tfjs's convention, default) or 'chw' ([3, H, W]). */
  layout?: 'hwc' | 'chw';
  /** Output size; giving one side keeps the aspect ratio. Default: the video's display size. */
  outWidth?: number;
  outHeight?: number;
  /** Decoder threads; default: all cores. */
  threads?: number;
  /**
   * Decoded frames the backend keeps for later calls (default 16; 0: none), so that frames asked
   * for again, or passed on the way to others, are not decoded again: overlapping clips, small
   * steps back, one frame at a time around a place. Memory: at most this many decoded pictures
   * and at most 64 MiB per open video (a 1080p 4:2:0 picture is 3 MiB, so 16 of them take 48
   * MiB). @tvl/libav keeps them; backends without a cache ignore it.
   */
  cacheFrames?: number;
  /**
   * Upper bound on decoded-frame bytes one native call produces while streaming or selecting
   * (default 256 MiB); bounds memory for long selections.
   */
  maxBatchBytes?: number;
  /**
   * Upper bound on what one call that returns everything at once (readFrames, selectFrameBatch,
   * selectRawFrames) may hold (default: half the machine's memory, at most 16 GiB). Larger
   * requests fail with TVL_INVALID_ARGUMENT at once instead of exhausting memory; stream them
   * with selectFrames or remainingFrames.
   */
  maxResultBytes?: number;
  /**
   * Write new frames into the memory of frame tensors you have disposed, instead of new memory
   * for each (default false). Every new buffer is memory V8 counts and collects on the main
   * thread: streaming 720p float32 makes 11 MB a frame. Memory comes back only once no tensor
   * holds it (clones and reshapes included); an array that views it without a tensor's reference
   * (a `dataSync()` result kept, a slice on tfjs-backend-cpu) is overwritten then: copy those
   * before disposing. Tensors only: raw frames (`selectRawFrames`) are always new memory.
   */
  reuseMemory?: boolean;
  /** Aborts opening (index building). */
  signal?: AbortSignal;
  /**
   * How the frame index is built. 'packets' (default): from demuxing, which is fast, and proven
   * by decoding only where the container cannot prove it (leading pictures, no pts). 'decoded':
   * every frame is decoded once at open and the index is exactly what the decoder presented
   * (slow: a full decode; for a dataset you verify once, see `tvl verify`).
   */
  index?: IndexMode;
  /**
   * A directory for the persistent frame index (default: the TVL_INDEX_CACHE environment
   * variable, else none). Each file's index is stored there, keyed by the file's path, size,
   * modification time and a hash of its head and tail, so later opens (other workers, later runs)
   * skip demuxing, and `index: 'decoded'` is paid for once. Safe with concurrent writers; an entry
   * that does not check out is rebuilt, never trusted. `loader.frameIndex.fromCache` tells.
   */
  indexCache?: string;
  /** Options only the chosen backend understands; see the backend package's README. */
  backendOptions?: BackendOptionsFor<B>;
  /**
   * What to do when a 'cuda' device cannot decode the video (no driver, no GPU, no such device,
   * codec/profile/size the GPU's decoder lacks, no GPU backend installed): 'none' (default)
   * throws the typed error; 'cpu' decodes on the CPU instead, and says so: `loader.backend`,
   * `loader.device`, `loader.fallbackReason` and every FrameReport name what decodes.
   */
  fallback?: 'none' | 'cpu';
  /**
   * The backend a `fallback: 'cpu'` decodes with (default: the CPU's default, @tvl/libav). Naming
   * the GPU backend's own CPU path (`'nvvl'`) keeps its conversion maths and fused processing;
   * `backendOptions` then go with it.
   */
  fallbackBackend?: string;
}

const VIDEO_LOADER_OPTION_NAMES = Object.keys({
  device: true,
  backend: true,
  dtype: true,
  layout: true,
  outWidth: true,
  outHeight: true,
  threads: true,
  cacheFrames: true,
  maxBatchBytes: true,
  maxResultBytes: true,
  reuseMemory: true,
  signal: true,
  index: true,
  indexCache: true,
  backendOptions: true,
  fallback: true,
  fallbackBackend: true,
} satisfies Record<keyof VideoLoaderOptions, true>);

/** Errors after which `fallback: 'cpu'` opens the video on the CPU. */
const FALLBACK_CODES: ReadonlySet<string> = new Set(['TVL_NO_CUDA_DEVICE', 'TVL_UNSUPPORTED_CODEC', 'TVL_NO_BACKEND']);

/**
 * The policy of `fallback: 'cpu'`, for every loader that offers it: when opening `path` on
 * `device` failed with `error` and the CPU may take over, the reason to report; otherwise null.
 */
export function cpuFallbackReason(device: Device, path: string, error: TvlError): string | null {
  if (device.kind !== 'cuda' || !FALLBACK_CODES.has(error.code)) return null;
  return `${formatDevice(device)} cannot decode '${path}' (${error.code}): ${error.message}`;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

/** What was delivered, frame by frame, from what the backend reported it decoded. */
export interface FrameReport {
  /** The index the caller asked for. */
  requestedIndex: number;
  /**
   * The index of the frame the backend identified in the output (by its pts, or its packet's
   * position). Equal to requestedIndex: core checks it, and a backend that delivers another frame
   * is a TVL_INEXACT_FRAME error, never a report that differs.
   */
  index: number;
  /** Presentation timestamp in seconds, as in the stream. */
  pts: number;
  /** Seconds since the first frame. */
  time: number;
  keyframe: boolean;
  /** The backend that decoded the frame. */
  backend: string;
}

/** VideoLoader.decodeWork: totals over the loader's native calls. */
export interface DecodeWork {
  /** Native calls (one per plan). */
  calls: number;
  seeks: number;
  /** Frames the decoder produced, including those decoded only to reach a wanted frame. */
  framesDecoded: number;
  /** Distinct frames written into output buffers (a frame asked for twice in one call counts once). */
  framesDelivered: number;
  /** Of those, the frames taken from the backend's decoded-frame cache (see cacheFrames). */
  framesFromCache: number;
}

export interface RawFrame {
  /** RGB24, row-major [height][width][3]. */
  data: Uint8Array;
  width: number;
  height: number;
  report: FrameReport;
}

const DEFAULT_MAX_BATCH_BYTES = 256 * 1024 * 1024;
const DEFAULT_CACHE_FRAMES = 16;
const NOTHING_CACHED: ReadonlySet<number> = new Set();
/** How many frames sequential reading asks for per native call. */
const STREAM_BATCH_FRAMES = 8;
/** Largest output side accepted (FFmpeg's own limit on picture sizes is of this order). */
const MAX_OUTPUT_SIDE = 16384;

/** Default bound on what one call returns at once: half the machine's memory, at most 16 GiB. */
function defaultMaxResultBytes(): number {
  return Math.min(16 * 1024 ** 3, Math.floor(os.totalmem() / 2));
}

export class VideoLoader implements AsyncDisposable {
  readonly path: string;
  /** The device decoding: the one asked for, or 'cpu' after a fallback. */
  readonly device: Device;
  /** Why the requested GPU device is not decoding (set only after `fallback: 'cpu'` was used). */
  readonly fallbackReason?: string;
  readonly info: VideoInfo;
  readonly frameIndex: FrameIndex;
  /** The video as the backend opened it. */
  private readonly opened: BackendVideo;
  private readonly spec: OutputSpec;
  private readonly maxBatchBytes: number;
  private readonly maxResultBytes: number;
  /** Frame memory used again (reuseMemory), else undefined. */
  private readonly memory?: BatchMemory;
  /** The next frame readFrame returns. */
  private cursor = 0;
  /**
   * The decoder's state, as the backend reported it after the last plan: the last frame it
   * presented (-1: at the start), or null when it cannot continue (drained, or after an error).
   * Core alone decides from it whether the next plan seeks.
   */
  private decoderPosition: number | null = -1;
  /** The frames the backend holds decoded, as the last plan reported (same terms as decoderPosition). */
  private cachedFrames: ReadonlySet<number> = NOTHING_CACHED;
  /** What a seek costs the decoder: reported at open, then as the backend measures it. */
  private costModel: SeekCostModel;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();
  /**
   * Native calls in flight. A backend runs one loader's calls in the order they were made, so a
   * call started while others are in flight (decodeInto, loading batches ahead) plans from where
   * they should leave the decoder (`plannedEnd`), and a run that continues from there says where
   * to seek instead if they do not (DecodeRun.orSeek).
   */
  private readonly active = new Set<{ done: Promise<unknown> }>();
  /** Where the decoder should be once every call made so far has run (null: unknown). */
  private plannedEnd: number | null = -1;
  /** Calls the backend has received so far: the latest one's result is the decoder's state. */
  private issued = 0;
  private readonly work: DecodeWork = { calls: 0, seeks: 0, framesDecoded: 0, framesDelivered: 0, framesFromCache: 0 };

  private constructor(
    path: string,
    device: Device,
    opened: BackendVideo,
    spec: OutputSpec,
    limits: { maxBatchBytes: number; maxResultBytes: number; reuseMemory: boolean },
    fallbackReason?: string,
  ) {
    this.path = path;
    this.device = device;
    if (fallbackReason !== undefined) this.fallbackReason = fallbackReason;
    this.opened = opened;
    this.info = opened.info;
    this.frameIndex = new FrameIndex(opened.index);
    this.costModel = opened.costModel ?? DEFAULT_COST_MODEL;
    this.spec = spec;
    this.maxBatchBytes = limits.maxBatchBytes;
    this.maxResultBytes = limits.maxResultBytes;
    // Streaming needs three chunks: the one being handed out, the one decoding ahead, the one coming back.
    if (limits.reuseMemory) this.memory = new BatchMemory({ buffers: 3 * STREAM_BATCH_FRAMES, bytes: 3 * limits.maxBatchBytes });
  }

  /** Opens a video: picks the backend for the device, demuxes the file and builds its frame index. */
  static async open<B extends string = string>(path: string, options: VideoLoaderOptions<B> = {}): Promise<VideoLoader> {
    if (typeof path !== 'string' || path.length === 0) {
      throw new InvalidArgumentError(`Expected a file path but received ${describeValue(path)}`);
    }
    // The C side would read the path only up to the NUL: '/tmp/a\0b.mp4' would open '/tmp/a'.
    if (path.includes('\0'))
      throw new InvalidArgumentError(`Expected a file path but received one with a NUL byte: ${describeValue(path)}`, { path });
    if (options === null || options === undefined) options = {};
    if (typeof options !== 'object')
      throw new InvalidArgumentError(`Expected an options object but received ${describeValue(options)}`, { path });
    rejectUnknownOptions(options, VIDEO_LOADER_OPTION_NAMES, 'the options of VideoLoader.open', { path });
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`Expected signal to be an AbortSignal but received ${describeValue(options.signal)}`, { path });
    }
    if (options.backend !== undefined && typeof options.backend !== 'string') {
      throw new InvalidArgumentError(`Expected backend to be a backend name but received ${describeValue(options.backend)}`, { path });
    }
    if (options.backendOptions !== undefined && (options.backendOptions === null || typeof options.backendOptions !== 'object')) {
      throw new InvalidArgumentError(`Expected backendOptions to be an object but received ${describeValue(options.backendOptions)}`, {
        path,
      });
    }
    for (const side of ['outWidth', 'outHeight'] as const) {
      const v = options[side];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= MAX_OUTPUT_SIDE)) {
        throw new InvalidArgumentError(`Expected ${side} to be an integer from 1 to ${MAX_OUTPUT_SIDE} but received ${describeValue(v)}`, {
          path,
        });
      }
    }
    const device = parseDevice(options.device ?? 'cpu');
    const dtype = checkDtype(options.dtype ?? 'float32');
    const layout = checkLayout(options.layout ?? 'hwc');
    const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    if (typeof maxBatchBytes !== 'number' || !(maxBatchBytes > 0))
      throw new InvalidArgumentError(`Expected maxBatchBytes > 0 but received ${describeValue(maxBatchBytes)}`);
    const maxResultBytes = options.maxResultBytes ?? defaultMaxResultBytes();
    if (typeof maxResultBytes !== 'number' || !(maxResultBytes > 0))
      throw new InvalidArgumentError(`Expected maxResultBytes > 0 but received ${describeValue(maxResultBytes)}`);
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 0)) {
      throw new InvalidArgumentError(`Expected threads to be a non-negative integer but received ${describeValue(options.threads)}`);
    }
    const reuseMemory = booleanOption(options.reuseMemory, 'reuseMemory', false, { path });
    const cacheFrames = options.cacheFrames ?? DEFAULT_CACHE_FRAMES;
    if (!(Number.isInteger(cacheFrames) && cacheFrames >= 0 && cacheFrames <= 1024)) {
      throw new InvalidArgumentError(`Expected cacheFrames to be an integer from 0 to 1024 but received ${describeValue(cacheFrames)}`, {
        path,
      });
    }
    const index = options.index ?? 'packets';
    if (index !== 'packets' && index !== 'decoded') {
      throw new InvalidArgumentError(`Expected index 'packets' or 'decoded' but received ${describeValue(index)}`);
    }
    if (options.indexCache !== undefined && (typeof options.indexCache !== 'string' || options.indexCache.length === 0)) {
      throw new InvalidArgumentError(`Expected indexCache to be a directory path but received ${describeValue(options.indexCache)}`, {
        path,
      });
    }
    const cacheDir = indexCacheDir(options.indexCache);
    const fallback = options.fallback ?? 'none';
    if (fallback !== 'none' && fallback !== 'cpu') {
      throw new InvalidArgumentError(`Expected fallback 'none' or 'cpu' but received ${describeValue(fallback)}`);
    }
    const { fallbackBackend } = options;
    if (fallbackBackend !== undefined && (typeof fallbackBackend !== 'string' || fallbackBackend.length === 0)) {
      throw new InvalidArgumentError(`Expected fallbackBackend to be a backend name but received ${describeValue(fallbackBackend)}`, {
        path,
      });
    }
    throwIfAborted(options.signal, path);
    let opened: BackendVideo;
    let usedDevice = device;
    let fallbackReason: string | undefined;
    try {
      const factory = await resolveBackend(device, options.backend);
      if (options.backendOptions !== undefined) {
        rejectUnknownOptions(options.backendOptions, factory.backendOptionNames ?? [], `backendOptions (backend '${factory.name}')`, {
          path,
        });
      }
      opened = await openCached(factory, path, cacheDir, {
        device,
        threads: options.threads,
        signal: options.signal,
        backendOptions: options.backendOptions,
        index,
        cacheFrames,
      });
    } catch (err) {
      const error = fromNativeError(err, path);
      const reason = fallback === 'cpu' ? cpuFallbackReason(device, path, error) : null;
      if (reason === null) throw error;
      usedDevice = parseDevice('cpu');
      fallbackReason = reason;
      try {
        const cpu = await resolveBackend(usedDevice, fallbackBackend);
        // Backend options are the named backend's: they go along only to its own CPU path.
        const backendOptions = fallbackBackend !== undefined && fallbackBackend === options.backend ? options.backendOptions : undefined;
        opened = await openCached(cpu, path, cacheDir, {
          device: usedDevice,
          threads: options.threads,
          signal: options.signal,
          index,
          backendOptions,
          cacheFrames,
        });
      } catch (cpuErr) {
        throw fromNativeError(cpuErr, path);
      }
    }
    try {
      const size = resolveOutputSize(opened.info, options.outWidth, options.outHeight);
      return new VideoLoader(
        path,
        usedDevice,
        opened,
        { ...size, dtype, layout },
        { maxBatchBytes, maxResultBytes, reuseMemory },
        fallbackReason,
      );
    } catch (err) {
      await opened.close();
      throw err;
    }
  }

  /** Name of the backend decoding this video. */
  get backend(): string {
    return this.opened.backend;
  }
  /** Exact number of frames, from the frame index. */
  get nFrames(): number {
    return this.frameIndex.length;
  }
  /** Seconds from the first frame's start to the last frame's end. */
  get duration(): number {
    return this.frameIndex.duration;
  }
  /** Average frame rate (frames / duration); for variable frame rate, the mean. */
  get frameRate(): number {
    return this.frameIndex.averageFrameRate;
  }
  get width(): number {
    return this.info.width;
  }
  get height(): number {
    return this.info.height;
  }
  get outWidth(): number {
    return this.spec.width;
  }
  get outHeight(): number {
    return this.spec.height;
  }
  get dtype(): TensorDtype {
    return this.spec.dtype as TensorDtype;
  }
  get layout(): 'hwc' | 'chw' {
    return this.spec.layout;
  }
  /**
   * What decoding has cost so far, summed over every native call of this loader: how many frames
   * the decoder produced (kept or not) for the frames delivered, and how many seeks. For judging
   * an access pattern: random frames in one GOP cost the frames up to the last of them, the same
   * frames spread over the file cost a seek and a GOP's head each.
   */
  get decodeWork(): Readonly<DecodeWork> {
    return { ...this.work };
  }

  /**
   * What the planner counts a seek as costing, in frames decoded: the decoder's own figure from
   * open (@tvl/libav: one frame, its reorder delay and its frame-thread pipeline), then, once the
   * backend has timed a few seeks against frames decoded straight on, what it measured (the
   * demuxer's seek included), following the machine's load.
   */
  get seekCost(): number {
    return this.costModel.seekCost;
  }

  /** Index of the frame readFrame() returns next. */
  get position(): number {
    return this.cursor;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  /** Moves to the frame shown at `seconds` after the first frame; at or past the end, readFrame throws EndOfVideoError. */
  seek(seconds: number): void {
    this.checkOpen();
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw new InvalidArgumentError(`Expected seek time to be a finite number of seconds >= 0 but received ${describeValue(seconds)}`);
    }
    this.cursor = this.frameIndex.frameAtTime(seconds);
  }

  /** Moves to frame i (0-based, presentation order). */
  seekToFrame(i: number): void {
    this.checkOpen();
    this.validateIndex(i);
    this.cursor = i;
  }

  /** Reads the frame at the current position and advances. */
  async readFrame(options: ReadOptions = {}): Promise<tf.Tensor3D> {
    const [frame] = await this.readFrames(1, options);
    return frame;
  }

  /** Reads up to n frames from the current position (fewer at the end); EndOfVideoError when none are left. */
  async readFrames(n: number, options: ReadOptions = {}): Promise<tf.Tensor3D[]> {
    this.checkOpen();
    this.checkReadOptions(options);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`Expected a positive integer frame count but received ${describeValue(n)}`);
    if (this.cursor >= this.nFrames) {
      throw new EndOfVideoError(`End of video: frame ${this.cursor} was requested but '${this.path}' has ${this.nFrames} frames`, {
        path: this.path,
        frameIndex: this.cursor,
      });
    }
    const start = this.cursor;
    const count = Math.min(n, this.nFrames - start);
    this.checkResultSize(count, this.spec, 'readFrames');
    const wanted = Array.from({ length: count }, (_, k) => start + k);
    const frames: tf.Tensor3D[] = [];
    try {
      // In native calls of at most maxBatchBytes each.
      for await (const { buffer } of this.decodeInRequestOrder(wanted, this.spec, options.signal)) {
        frames.push(this.asTensor(buffer));
      }
    } catch (err) {
      for (const f of frames) f.dispose();
      throw err;
    }
    this.cursor = start + count;
    return frames;
  }

  /**
   * Streams every frame from the current position to the end, a few frames per native call, the
   * next call decoding while the caller uses the frames of the last one. Leaving the loop early
   * (break, return, an exception) or aborting frees the frames decoded but not handed out, and
   * leaves `position` at the first of them: the next read continues there. (It reads on from where
   * it started: to read from elsewhere, leave the loop, seek, and iterate again.)
   */
  async *remainingFrames(options: ReadOptions = {}): AsyncGenerator<tf.Tensor3D> {
    this.checkReadOptions(options);
    const perCall = Math.max(1, Math.min(STREAM_BATCH_FRAMES, Math.floor(this.maxBatchBytes / bytesPerFrame(this.spec))));
    // One chunk ahead: the next native call decodes while the caller works through this chunk, so
    // the decoder never waits for the caller (at most two chunks exist at once).
    let next: Promise<tf.Tensor3D[]> | null = this.cursor < this.nFrames ? this.readFrames(perCall, options) : null;
    let frames: tf.Tensor3D[] = [];
    let chunkStart = this.cursor;
    let handed = 0;
    try {
      while (next) {
        frames = await next;
        chunkStart = this.cursor - frames.length;
        handed = 0;
        next = this.cursor < this.nFrames ? this.readFrames(perCall, options) : null;
        while (handed < frames.length) {
          throwIfAborted(options.signal, this.path);
          yield frames[handed++];
        }
      }
    } finally {
      // However it ends (to the end, break, return, abort or an error): nothing made and not handed
      // out stays alive, and the position is the first frame not handed out.
      for (let k = handed; k < frames.length; k++) frames[k].dispose();
      if (next) for (const f of await next.catch(() => [])) f.dispose();
      this.cursor = chunkStart + handed;
    }
  }

  /** All frames from the start; holds them all in memory (prefer remainingFrames for long videos). */
  async readAllFrames(options: ReadOptions = {}): Promise<tf.Tensor3D[]> {
    this.seekToFrame(0);
    const frames: tf.Tensor3D[] = [];
    try {
      for await (const f of this.remainingFrames(options)) frames.push(f);
    } catch (err) {
      for (const f of frames) f.dispose();
      throw err;
    }
    return frames;
  }

  /**
   * Yields the requested frames in the order requested, duplicates included. Each distinct
   * frame is decoded once; work is split into native calls of at most maxBatchBytes.
   */
  async *selectFrames(indices: Iterable<number>, options: ReadOptions = {}): AsyncGenerator<tf.Tensor3D> {
    this.checkReadOptions(options);
    // (Frames decoded ahead are plain buffers until yielded: leaving early leaves no tensors behind.)
    for await (const { buffer } of this.decodeInRequestOrder(this.toIndexList(indices), this.spec, options.signal)) {
      throwIfAborted(options.signal, this.path);
      yield this.asTensor(buffer);
    }
  }

  async selectFrame(i: number, options: ReadOptions = {}): Promise<tf.Tensor3D> {
    this.checkOpen();
    this.checkReadOptions(options);
    this.validateIndex(i);
    const frames = await this.decode([i], this.spec, options.signal);
    return this.asTensor(frames.get(i)!.buffer);
  }

  /** The requested frames stacked into one [N, H, W, 3] (or [N, 3, H, W]) tensor. */
  async selectFrameBatch(indices: Iterable<number>, options: ReadOptions = {}): Promise<tf.Tensor4D> {
    const list = this.toIndexList(indices);
    if (list.length === 0)
      throw new InvalidArgumentError('selectFrameBatch needs at least one frame index (a batch of none has no shape)', { path: this.path });
    this.checkResultSize(list.length, this.spec, 'selectFrameBatch');
    this.checkReadOptions(options);
    this.checkOpen();
    for (const i of list) this.validateIndex(i);
    // The backend writes each frame straight into its slot of one batch buffer (no stacking copy).
    const frameElements = frameElementCount(this.spec);
    const batch = this.allocateOutput(list.length);
    const slot = (k: number) => batch.subarray(k * frameElements, (k + 1) * frameElements) as FrameBuffer;
    // Distinct frames in native calls of at most maxBatchBytes each.
    const perCall = Math.max(1, Math.floor(this.maxBatchBytes / bytesPerFrame(this.spec)));
    await intoSlots(list, slot, async (distinct, bufferFor) => {
      for (let at = 0; at < distinct.length; at += perCall) {
        await this.decode(distinct.slice(at, at + perCall), this.spec, options.signal, bufferFor);
      }
    });
    let data: tf.Tensor4D;
    try {
      data = tensor(batch as Float32Array | Int32Array, [list.length, ...frameShape(this.spec)], this.dtype) as tf.Tensor4D;
    } catch (err) {
      throw withoutTfjsBackend(err);
    }
    this.memory?.lend(data, batch);
    return data;
  }

  /** A frame buffer of this loader's output as its tensor (lent to `memory` when reusing it). */
  private asTensor(buffer: FrameBuffer): tf.Tensor3D {
    const frame = bufferToTensor(buffer, this.spec);
    this.memory?.lend(frame, buffer);
    return frame;
  }

  /** Raw API: RGB24 bytes per frame with a report of what was decoded, in request order. */
  async selectRawFrames(indices: Iterable<number>, options: ReadOptions = {}): Promise<RawFrame[]> {
    this.checkReadOptions(options);
    const spec: OutputSpec = { ...this.spec, dtype: 'uint8', layout: 'hwc' };
    const list = this.toIndexList(indices);
    this.checkResultSize(list.length, spec, 'selectRawFrames');
    const out: RawFrame[] = [];
    for await (const { index, delivered, buffer } of this.decodeInRequestOrder(list, spec, options.signal)) {
      out.push({ data: buffer as Uint8Array, width: spec.width, height: spec.height, report: this.report(index, delivered) });
    }
    return out;
  }

  /** Frees the backend's native resources. Safe to call twice; later calls on the loader throw TVL_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
    await Promise.allSettled([...this.active].map((call) => call.done));
    await this.opened.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `VideoLoader(${this.path}, ${this.nFrames} frames, ${this.width}x${this.height} @ ${this.frameRate.toFixed(3)} fps, ${this.backend} on ${formatDevice(this.device)})`;
  }

  private report(requestedIndex: number, index: number): FrameReport {
    const pts = this.frameIndex.pts[index];
    return {
      requestedIndex,
      index,
      pts,
      time: pts - this.frameIndex.startTime,
      keyframe: this.frameIndex.keyframe[index] === 1,
      backend: this.opened.backend,
    };
  }

  private checkOpen(): void {
    if (this.closed) throw new LoaderClosedError(`The VideoLoader for '${this.path}' is closed`, { path: this.path });
  }

  private checkReadOptions(options: ReadOptions): void {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError(`Expected read options ({ signal }) but received ${describeValue(options)}`, { path: this.path });
    }
    rejectUnknownOptions(options, ['signal'], 'read options', { path: this.path });
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`Expected signal to be an AbortSignal but received ${describeValue(options.signal)}`, {
        path: this.path,
      });
    }
  }

  /** The indices of a select call as an array; anything not iterable is TVL_INVALID_ARGUMENT. */
  private toIndexList(indices: Iterable<number>): number[] {
    this.checkOpen();
    if (
      typeof indices === 'string' ||
      indices === null ||
      indices === undefined ||
      typeof (indices as Partial<Iterable<number>>)[Symbol.iterator] !== 'function'
    ) {
      throw new InvalidArgumentError(`Expected an iterable of frame indices but received ${describeValue(indices)}`, { path: this.path });
    }
    return [...indices];
  }

  /** Refuses, before any work, a call whose whole result would exceed maxResultBytes. */
  private checkResultSize(frames: number, spec: OutputSpec, method: string): void {
    const bytes = frames * bytesPerFrame(spec);
    if (bytes <= this.maxResultBytes) return;
    const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
    throw new InvalidArgumentError(
      `${method} would hold ${frames} frames (${gib(bytes)}) at once, more than maxResultBytes (${gib(this.maxResultBytes)}): ` +
        'stream them with selectFrames or remainingFrames, or raise maxResultBytes',
      { path: this.path },
    );
  }

  private validateIndex(i: unknown): asserts i is number {
    if (typeof i !== 'number' || !Number.isInteger(i)) {
      throw new InvalidArgumentError(`Expected a frame index (an integer) but received ${describeValue(i)}`, { path: this.path });
    }
    if (i < 0 || i >= this.nFrames) {
      throw new IndexOutOfRangeError(
        `Frame index ${i} is out of range: '${this.path}' has ${this.nFrames} frames (0..${this.nFrames - 1})`,
        { path: this.path, frameIndex: i },
      );
    }
  }

  /**
   * Decodes request-ordered indices in bounded windows: each window is one native call of at most
   * maxBatchBytes of new frames. A frame requested again later is kept until its last use and
   * handed out as a copy before then, so every distinct frame is decoded once.
   */
  private async *decodeInRequestOrder(
    requested: number[],
    spec: OutputSpec,
    signal?: AbortSignal,
  ): AsyncGenerator<{ index: number; delivered: number; buffer: FrameBuffer }> {
    this.checkOpen();
    for (const i of requested) this.validateIndex(i);
    const lastUse = new Map<number, number>();
    requested.forEach((idx, k) => lastUse.set(idx, k));
    const frameBytes = bytesPerFrame(spec);
    const held = new Map<number, DecodedFrame>();
    let pos = 0;
    while (pos < requested.length) {
      const wanted: number[] = [];
      const wantedSet = new Set<number>();
      let bytes = held.size * frameBytes;
      let end = pos;
      for (; end < requested.length; end++) {
        const idx = requested[end];
        if (held.has(idx) || wantedSet.has(idx)) continue;
        if (wanted.length > 0 && bytes + frameBytes > this.maxBatchBytes) break;
        wanted.push(idx);
        wantedSet.add(idx);
        bytes += frameBytes;
      }
      if (wanted.length > 0) {
        for (const [idx, frame] of await this.decode(wanted, spec, signal)) held.set(idx, frame);
      }
      for (; pos < end; pos++) {
        const idx = requested[pos];
        const { buffer, delivered } = held.get(idx)!;
        if (lastUse.get(idx) === pos) {
          held.delete(idx);
          yield { index: idx, delivered, buffer };
        } else {
          yield { index: idx, delivered, buffer: buffer.slice() };
        }
      }
    }
  }

  /**
   * Output memory for `frames` frames of this loader's output, back to back: with reuseMemory, the
   * memory of a disposed tensor of this loader's spec that fits; else from the backend (pages it
   * keeps mapped between uses, where it has them: no page faults for each frame written).
   * @internal
   */
  allocateOutput(frames: number, spec: OutputSpec = this.spec): FrameBuffer {
    const reused = spec === this.spec ? this.memory?.take(spec.dtype, frames * frameElementCount(spec)) : undefined;
    return reused ?? allocateFrameBuffer(spec, frames, this.allocate);
  }

  private readonly allocate = (bytes: number): ArrayBuffer => this.opened.allocate?.(bytes) ?? allocateUninitialised(bytes);

  /** After a failed call the decoder's state is unknown: the next plan seeks (calls planned already fall back to their orSeek). */
  private forgetDecoderState(seq: number): void {
    this.decoderPosition = null;
    this.cachedFrames = NOTHING_CACHED;
    if (seq === this.issued) this.plannedEnd = null;
  }

  /** One plan, one native call; runs after any operation already queued on this loader. */
  /** `bufferFor`: where frame `idx` goes (default: a buffer of its own). */
  private decode(
    targets: number[],
    spec: OutputSpec,
    signal?: AbortSignal,
    bufferFor: (idx: number) => FrameBuffer = () => this.allocateOutput(1, spec),
  ): Promise<Map<number, DecodedFrame>> {
    // Checked when called, not when run: work queued before close() still completes.
    try {
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = () => this.execute(targets, spec, signal, bufferFor);
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /**
   * Decodes `frames` (request order, duplicates allowed) into `out(k)` for the k-th, in one native
   * call started before this returns: not queued behind this loader's other calls, so that a
   * batch's work is in the backend's hands even if the caller then blocks its thread. For loading
   * batches ahead (startClipBatch); frames are checked like selectFrames'. With `processed`, the
   * frames come out as its spec says, through the backend's fused processing (a backend without it
   * refuses with TVL_INVALID_ARGUMENT).
   * @internal
   */
  decodeInto(
    frames: number[],
    out: (k: number) => FrameBuffer,
    signal?: AbortSignal,
    processed?: { spec: OutputSpec; processing: FrameProcessing },
  ): Promise<void> {
    try {
      this.checkOpen();
      for (const i of frames) this.validateIndex(i);
      throwIfAborted(signal, this.path);
      if (processed && !this.opened.fusesProcessing) {
        throw new InvalidArgumentError(
          `backend '${this.backend}' does not fuse resize, crop, flip and normalise into decoding: ` +
            "open with backend 'nvvl' (device 'cuda', or 'cpu' for its CPU path), or apply core's transforms to the frames",
          { path: this.path },
        );
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const spec = processed?.spec ?? this.spec;
    // (intoSlots calls execute before its first await: the native call starts now.)
    return intoSlots(frames, out, (distinct, bufferFor) => this.execute(distinct, spec, signal, bufferFor, processed?.processing));
  }

  /** Plans and starts one native call now (the part of it before the call runs synchronously). */
  private execute(
    targets: number[],
    spec: OutputSpec,
    signal: AbortSignal | undefined,
    bufferFor: (idx: number) => FrameBuffer,
    processing?: FrameProcessing,
  ): Promise<Map<number, DecodedFrame>> {
    const call = { done: Promise.resolve() as Promise<unknown> };
    const run = async (): Promise<Map<number, DecodedFrame>> => {
      throwIfAborted(signal, this.path);
      // With calls ahead of this one, plan from where they should leave the decoder (what they
      // leave cached is not known yet: none is taken from the cache).
      const ahead = this.active.size > 0;
      const position = ahead ? this.plannedEnd : this.decoderPosition;
      const cached = ahead ? NOTHING_CACHED : this.cachedFrames;
      const plan = planDecode(this.frameIndex, targets, position, this.costModel, cached, ahead);
      const decoding = plan.runs.filter((r) => r.start !== FROM_CACHE);
      this.plannedEnd = decoding.length > 0 ? decoding[decoding.length - 1].keep.at(-1)! : position;
      const order = planOutputOrder(plan);
      const buffers = order.map(bufferFor);
      let result: DecodeResult;
      // Numbered as the backend receives it (a call that never got there changes nothing).
      const seq = ++this.issued;
      try {
        result = await this.opened.decode({ plan, output: spec, buffers, signal, ...(processing ? { processing } : {}) });
      } catch (err) {
        this.forgetDecoderState(seq);
        throw fromNativeError(err, this.path);
      }
      // Calls complete in the order they were made: the latest one's result is the decoder's
      // state (an earlier one's is not, once a later call has been planned from it).
      if (seq === this.issued) {
        this.decoderPosition = result.continuable ? result.position : null;
        this.cachedFrames = result.cached?.length ? new Set(Array.from(result.cached)) : NOTHING_CACHED;
        this.plannedEnd = this.decoderPosition;
      }
      if (typeof result.seekCost === 'number' && result.seekCost > 0) this.costModel = { seekCost: result.seekCost };
      this.work.calls++;
      this.work.seeks += result.seeks;
      this.work.framesDecoded += result.framesDecoded;
      this.work.framesDelivered += order.length;
      this.work.framesFromCache += plan.runs.reduce((n, r) => n + (r.start === FROM_CACHE ? r.keep.length : 0), 0);
      try {
        checkDelivered(order, result.delivered, this.backend, this.path);
      } catch (err) {
        this.forgetDecoderState(seq);
        throw err;
      }
      return new Map(order.map((idx, k) => [idx, { buffer: buffers[k], delivered: result.delivered[k] }]));
    };
    const p = run();
    call.done = p.catch(() => undefined);
    this.active.add(call);
    void call.done.then(() => this.active.delete(call));
    return p;
  }
}

/**
 * Decodes `frames` (request order, duplicates allowed) into `out(k)` for the k-th: each distinct
 * frame once, by `decodeDistinct` into its first slot, then copied into the slots that repeat it.
 */
async function intoSlots(
  frames: number[],
  out: (k: number) => FrameBuffer,
  decodeDistinct: (distinct: number[], bufferFor: (idx: number) => FrameBuffer) => Promise<unknown>,
): Promise<void> {
  const firstSlot = new Map<number, number>();
  frames.forEach((idx, k) => {
    if (!firstSlot.has(idx)) firstSlot.set(idx, k);
  });
  await decodeDistinct([...firstSlot.keys()], (idx) => out(firstSlot.get(idx)!));
  frames.forEach((idx, k) => {
    const first = firstSlot.get(idx)!;
    if (first !== k) out(k).set(out(first));
  });
}

/** A decoded frame's buffer and the index the backend identified in it. */
interface DecodedFrame {
  buffer: FrameBuffer;
  delivered: number;
}

/** factory.open through the persistent index cache when there is one (see index-cache.ts). */
async function openCached(
  factory: BackendFactory,
  path: string,
  cacheDir: string | undefined,
  options: BackendOpenOptions,
): Promise<BackendVideo> {
  const entry = cacheDir === undefined ? null : indexCacheEntry(cacheDir, path, factory.name, options.index ?? 'packets');
  const cachedIndex = entry === null ? undefined : readIndexCache(entry);
  const opened = await factory.open(path, { ...options, cachedIndex });
  if (entry !== null && !opened.index.fromCache && opened.exportIndex) {
    const bytes = opened.exportIndex();
    if (bytes) writeIndexCache(entry, bytes);
  }
  return opened;
}

function throwIfAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw new AbortedError(`Aborted while loading '${path}'`, { path, cause: signal.reason });
}
