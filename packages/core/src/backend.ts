/**
 * The contract between core (policy) and a backend package (mechanism). A backend opens a file,
 * builds its frame index by demuxing, and executes DecodePlans natively, off the event loop,
 * one native call per plan.
 */
import type { Device, DeviceKind } from './device.js';
import type { FrameIndexData, IndexMode } from './frame-index.js';
import type { DecodePlan, SeekCostModel } from './seek-planner.js';

export type ColourMatrix = 'bt601' | 'bt709' | 'bt2020';
export type ColourRange = 'limited' | 'full';

/** Stream facts a backend reports at open. Sizes are display sizes (rotation applied). */
export interface VideoInfo {
  width: number;
  height: number;
  /** The codec, by FFmpeg's codec name ('h264', 'hevc', 'vp9', 'av1', 'mpeg4', 'mjpeg'): the same whichever backend decodes. */
  codec: string;
  /** What decodes it: FFmpeg's decoder ('h264', 'libdav1d', ...; libav and nvvl), 'nvdec' or 'opencv'. */
  decoder: string;
  profile: string;
  pixelFormat: string;
  bitDepth: number;
  /** The YUV->RGB matrix used for this stream. */
  colourMatrix: ColourMatrix;
  colourRange: ColourRange;
  /** True when the stream did not say and the matrix was chosen from the frame size. */
  colourMatrixGuessed: boolean;
  /** Clockwise rotation applied from the container's display matrix. */
  rotation: 0 | 90 | 180 | 270;
  container: string;
}

export type OutputDtype = 'float32' | 'int32' | 'uint8';
export type OutputLayout = 'hwc' | 'chw';

export interface OutputSpec {
  width: number;
  height: number;
  /** float32: RGB in [0, 1]; int32 and uint8: 0..255. */
  dtype: OutputDtype;
  layout: OutputLayout;
}

export type FrameBuffer = Float32Array | Int32Array | Uint8Array;

/**
 * Processing a backend may fuse into its colour conversion (BackendVideo.fusesProcessing): scale
 * the display-oriented frame to resizeWidth x resizeHeight, take the output's width x height at
 * (cropX, cropY) of it, mirror it, and normalise per channel. Resolved and checked by the caller
 * (e.g. @tvl/nvvl's resolveProcessing); a backend only executes it.
 */
export interface FrameProcessing {
  resizeWidth: number;
  resizeHeight: number;
  cropX: number;
  cropY: number;
  flip: boolean;
  interpolation: 'bilinear' | 'nearest';
  /** 'ycbcr': the decoded Y, Cb, Cr samples, no matrix. */
  colourSpace: 'rgb' | 'ycbcr';
  /** Per-channel (v - mean) / std on float32 values in [0, 1]. */
  mean?: number[];
  std?: number[];
}

export interface DecodeRequest {
  plan: DecodePlan;
  /** With `processing`, width and height are the crop's. */
  output: OutputSpec;
  /** Only for a backend that fuses processing; core refuses it for the others. */
  processing?: FrameProcessing;
  /** One buffer per kept frame, in plan order (see planOutputOrder); the backend fills them. */
  buffers: FrameBuffer[];
  signal?: AbortSignal;
}

/**
 * What the backend did, as facts: core keeps the decoder's position from them (it is the one owner
 * of that state: the plan it makes is the only decision to seek) and builds every FrameReport
 * from `delivered`, checking it against what was asked for.
 */
export interface DecodeResult {
  /** Frames the decoder produced, kept or not (for statistics). */
  framesDecoded: number;
  /** Seeks performed. */
  seeks: number;
  /** Index of the last frame the decoder presented. */
  position: number;
  /**
   * Whether the next plan may continue from `position` without a seek (false once the stream was
   * drained, or after an error left the decoder's state unknown).
   */
  continuable: boolean;
  /**
   * Per output buffer, in plan order: the index of the frame written into it, as the backend
   * identified it (the frame index entry the decoded picture's pts, or its packet's position,
   * matched).
   */
  delivered: ArrayLike<number>;
  /**
   * The frames the backend holds decoded after this plan (its decoded-frame cache), which the next
   * plan may take with a FROM_CACHE run; absent or empty where it keeps none.
   */
  cached?: ArrayLike<number>;
  /**
   * What a seek costs this decoder, in frames decoded, as the backend measured it from the seeks
   * and frames it timed (absent until it has): core plans the next calls with it.
   */
  seekCost?: number;
}

/**
 * A video a backend has opened: its stream facts, its frame index, and decoding by plan. (In
 * TVL "session" means only the native decoder state behind it: the addon's session object.)
 */
export interface BackendVideo {
  /** Name of the backend that decodes, e.g. 'libav'. */
  readonly backend: string;
  readonly info: VideoInfo;
  readonly index: FrameIndexData;
  /** Optional backend-specific cost of a seek; core falls back to a default. */
  readonly costModel?: SeekCostModel;
  /** Whether decode() takes DecodeRequest.processing (resize, crop, flip, normalise in one pass). */
  readonly fusesProcessing?: boolean;
  decode(request: DecodeRequest): Promise<DecodeResult>;
  /**
   * Memory for `bytes` of output (optional): what the backend writes fastest into, e.g. pages
   * already mapped. Uninitialised; core then writes or lets the backend write every byte.
   */
  allocate?(bytes: number): ArrayBuffer;
  /** The frame index as bytes this backend accepts back as `cachedIndex` (optional). */
  exportIndex?(): Uint8Array | null;
  /** Frees all native resources; waits for a decode in flight to finish. */
  close(): Promise<void>;
}

export interface BackendOpenOptions {
  device: Device;
  /** Decoder threads; 0 or undefined = as many as the machine has cores. */
  threads?: number;
  signal?: AbortSignal;
  /** How to build the frame index (default 'packets'); see VideoLoaderOptions.index. */
  index?: IndexMode;
  /**
   * An index this backend exported before (BackendVideo.exportIndex), from the persistent index
   * cache: use it instead of building one if it checks out, and say so in `index.fromCache`.
   */
  cachedIndex?: Uint8Array;
  /** Options only this backend understands (see its README), e.g. `{ colour: 'opencv' }` for @tvl/opencv. */
  backendOptions?: Record<string, unknown>;
  /**
   * Decoded frames to keep for later plans (VideoLoaderOptions.cacheFrames); a backend without a
   * decoded-frame cache ignores it.
   */
  cacheFrames?: number;
}

export interface BackendFactory {
  /** Short name users pass as `backend`, e.g. 'libav', 'opencv', 'nvdec'. */
  readonly name: string;
  readonly device: DeviceKind;
  /**
   * Decodes only when named (`backend: '<name>'`), never as the device's default or a fallback
   * (nvvl's CPU path, a reference implementation of its GPU maths, not a CPU decoder to choose).
   */
  readonly explicitOnly?: boolean;
  /** The names this backend reads from `backendOptions`; core refuses any other (default: none). */
  readonly backendOptionNames?: readonly string[];
  open(path: string, options: BackendOpenOptions): Promise<BackendVideo>;
}
