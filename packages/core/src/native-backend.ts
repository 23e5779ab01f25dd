/**
 * Helpers for backend packages whose work is done by a native addon built on
 * @tvl/native-common: the shape of the addon's session object, cancellation through a shared
 * Int32Array cell, and the BackendVideo wrapper around it. Written once here so every addon
 * package's TypeScript is only its registration.
 */
import type { BackendVideo, DecodeRequest, DecodeResult, FrameProcessing, VideoInfo } from './backend.js';
import { AbortedError } from './errors.js';
import type { FrameIndexData } from './frame-index.js';
import { allocateUninitialised } from './output.js';
import type { SeekCostModel } from './seek-planner.js';

/** The session object native-common's SessionWrap hands back from an addon's open call. */
export interface NativeSession {
  info: VideoInfo;
  index: FrameIndexData;
  decode(
    plan: DecodeRequest['plan'],
    output: DecodeRequest['output'],
    buffers: DecodeRequest['buffers'],
    cancel: Int32Array,
    /** Only where the addon fuses processing (NativeBackendOptions.fusesProcessing). */
    processing?: FrameProcessing,
  ): Promise<DecodeResult>;
  close(): Promise<void>;
  exportIndex?(): Uint8Array | null;
  /** Memory for output buffers that stays mapped between uses (native-common's frame_memory.h); null if refused. */
  allocate?(bytes: number): ArrayBuffer | null;
  /** What a seek costs this decoder, in frames decoded, where the addon measures it (SeekCostModel). */
  seekCost?: number;
}

/** The cell of calls made without a signal: nothing ever sets it. */
const NEVER_CANCELLED = new Int32Array(1);

/**
 * One cancel cell per signal, which one listener sets when the signal aborts: every call made
 * under that signal (a batch makes several, an epoch hundreds) polls the same cell, so a call adds
 * no listener and allocates no cell of its own; both cost the main thread time on every call.
 */
const cancelCells = new WeakMap<AbortSignal, Int32Array>();

/**
 * Runs a native call with a cancel cell that `signal` sets; the native side polls the cell
 * between frames and inside blocking reads.
 */
export async function withCancel<T>(signal: AbortSignal | undefined, call: (cancel: Int32Array) => Promise<T>): Promise<T> {
  if (!signal) return call(NEVER_CANCELLED);
  if (signal.aborted) throw new AbortedError('Aborted before the native call started', { cause: signal.reason });
  let cell = cancelCells.get(signal);
  if (!cell) {
    const cellOfSignal = new Int32Array(1);
    signal.addEventListener('abort', () => Atomics.store(cellOfSignal, 0, 1), { once: true });
    cancelCells.set(signal, cellOfSignal);
    cell = cellOfSignal;
  }
  return call(cell);
}

export interface NativeBackendOptions {
  /** The seek cost where the addon reports none (NativeSession.seekCost). */
  fallbackCost?: SeekCostModel;
  /** The addon's decode takes a FrameProcessing (BackendVideo.fusesProcessing). */
  fusesProcessing?: boolean;
}

/**
 * A BackendVideo over a NativeSession. Its seek cost is the one the addon reported for the decoder
 * it opened (`seekCost`), else `fallbackCost`.
 */
export class NativeBackendVideo implements BackendVideo {
  readonly costModel?: SeekCostModel;
  readonly fusesProcessing: boolean;

  constructor(
    readonly backend: string,
    private readonly native: NativeSession,
    options: NativeBackendOptions = {},
  ) {
    const reported = native.seekCost;
    this.costModel = typeof reported === 'number' && reported > 0 ? { seekCost: reported } : options.fallbackCost;
    this.fusesProcessing = options.fusesProcessing ?? false;
  }

  get info(): VideoInfo {
    return this.native.info;
  }
  get index(): FrameIndexData {
    return this.native.index;
  }

  decode(request: DecodeRequest): Promise<DecodeResult> {
    const { plan, output, buffers, processing } = request;
    return withCancel(request.signal, (cancel) =>
      processing ? this.native.decode(plan, output, buffers, cancel, processing) : this.native.decode(plan, output, buffers, cancel),
    );
  }

  exportIndex(): Uint8Array | null {
    return this.native.exportIndex?.() ?? null;
  }

  allocate(bytes: number): ArrayBuffer {
    return this.native.allocate?.(bytes) ?? allocateUninitialised(bytes);
  }

  close(): Promise<void> {
    return this.native.close();
  }
}
