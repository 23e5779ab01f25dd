/**
 * The per-file frame index: one entry per presented frame, in presentation order, built by a
 * backend from demuxing, proven against the decoder where the container cannot prove it (see
 * "How frames are numbered" in core's README), or by decoding every frame (`index: 'decoded'`).
 * Frame i is entry i: the i-th frame the decoder presents. Everything core plans (which
 * keyframe to seek to, which frame a time means, how many frames there are) comes from here,
 * never from header estimates.
 */
import { InvalidArgumentError } from './errors.js';

/** How a frame's number is known (FrameIndexData.state). */
export const FrameState = {
  /** An ordinary frame. */
  ok: 0,
  /** Its packet is flagged damaged (cut short); reading it is TVL_CORRUPT_DATA. */
  corrupt: 1,
  /** Demuxing lost its packet in a damaged stretch; the timestamps around the hole prove its number. */
  lost: 2,
  /** After damage whose losses the timestamps cannot count: its number cannot be proven. */
  unproven: 3,
} as const;
export type FrameStateName = keyof typeof FrameState;

export interface FrameIndexData {
  /** Presentation timestamps in seconds, ascending, one per frame. */
  pts: Float64Array;
  /** 1 where the frame is a keyframe (a point decoding can start from), else 0. */
  keyframe: Uint8Array;
  /** How long the last frame is shown, in seconds (for `duration`). */
  lastFrameDuration: number;
  /**
   * True when the file holds less than it should: demuxing stopped on a read error (a cut-off
   * download), the header lists more frames, the last packet is cut short, or the demuxer ended
   * well before the end of the file (a damaged container it could not resync past).
   */
  truncated?: boolean;
  /** Why `truncated` is true, in words. */
  truncatedReason?: string;
  /** Per frame, a FrameState value; absent means all ok. */
  state?: Uint8Array;
  /** 'packets' (demuxing, proven where needed; the default) or 'decoded' (every frame decoded once). */
  source?: 'packets' | 'decoded';
  /** How decoded pictures are matched to frames: by 'pts', or by packet 'position' (containers without pts). */
  identity?: 'pts' | 'position';
  /** Packets before the first picture the decoder presents, which are not frames (a stream cut mid-GOP). */
  droppedLeading?: number;
  /** Errors the demuxer reported (and resynced past) while indexing: the file is damaged. */
  demuxErrors?: number;
  /** Read from the persistent index cache (`indexCache`) rather than built. */
  fromCache?: boolean;
}

/** How a backend builds the frame index at open: see VideoLoaderOptions.index. */
export type IndexMode = 'packets' | 'decoded';

export class FrameIndex {
  readonly pts: Float64Array;
  readonly keyframe: Uint8Array;
  /** prevKeyframe[i]: the largest keyframe index <= i, or -1 when none precedes i. */
  private readonly prevKeyframe: Int32Array;
  readonly lastFrameDuration: number;
  /** The file holds less than it should (see FrameIndexData.truncated); its last frame may be damaged. */
  readonly truncated: boolean;
  readonly truncatedReason?: string;
  /** Per frame, a FrameState value (all 0 for an undamaged file). */
  readonly state: Uint8Array;
  readonly source: 'packets' | 'decoded';
  readonly identity: 'pts' | 'position';
  readonly droppedLeading: number;
  readonly demuxErrors: number;
  readonly fromCache: boolean;

  constructor(data: FrameIndexData) {
    if (data.pts.length !== data.keyframe.length) {
      throw new InvalidArgumentError(
        `Expected a frame index with one keyframe flag per timestamp but received ${data.pts.length} timestamps and ${data.keyframe.length} keyframe flags`,
      );
    }
    this.pts = data.pts;
    this.keyframe = data.keyframe;
    this.lastFrameDuration = data.lastFrameDuration;
    this.truncated = data.truncated ?? false;
    if (data.truncatedReason !== undefined) this.truncatedReason = data.truncatedReason;
    this.state = data.state ?? new Uint8Array(data.pts.length);
    this.source = data.source ?? 'packets';
    this.identity = data.identity ?? 'pts';
    this.droppedLeading = data.droppedLeading ?? 0;
    this.demuxErrors = data.demuxErrors ?? 0;
    this.fromCache = data.fromCache ?? false;
    this.prevKeyframe = new Int32Array(data.pts.length);
    let last = -1;
    for (let i = 0; i < data.pts.length; i++) {
      if (data.keyframe[i]) last = i;
      this.prevKeyframe[i] = last;
    }
  }

  get length(): number {
    return this.pts.length;
  }

  /** Presentation time of frame 0, in seconds (non-zero for streams that start late). */
  get startTime(): number {
    return this.length > 0 ? this.pts[0] : 0;
  }

  /** From the first frame's start to the last frame's end, in seconds. */
  get duration(): number {
    if (this.length === 0) return 0;
    return this.pts[this.length - 1] - this.pts[0] + this.lastFrameDuration;
  }

  /** Average frames per second (for variable-frame-rate video this is the mean rate). */
  get averageFrameRate(): number {
    const d = this.duration;
    return d > 0 ? this.length / d : 0;
  }

  /** True when frame intervals differ by more than 1% of the mean (variable frame rate). */
  get isVariableFrameRate(): boolean {
    if (this.length < 3) return false;
    const mean = (this.pts[this.length - 1] - this.pts[0]) / (this.length - 1);
    for (let i = 1; i < this.length; i++) {
      if (Math.abs(this.pts[i] - this.pts[i - 1] - mean) > 0.01 * mean) return true;
    }
    return false;
  }

  /** The keyframe to start decoding from to reach frame i, or -1 if none precedes it. */
  keyframeAtOrBefore(i: number): number {
    return this.prevKeyframe[i];
  }

  /** Frames that cannot be delivered (lost, unproven or flagged damaged), ascending. */
  get unusableFrames(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) if (this.state[i] !== FrameState.ok) out.push(i);
    return out;
  }

  get keyframeCount(): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) n += this.keyframe[i];
    return n;
  }

  /**
   * The frame shown at `seconds` after the first frame: the last frame whose presentation time
   * is at or before it. Returns `length` when the time is at or past the end.
   */
  frameAtTime(seconds: number): number {
    if (seconds >= this.duration) return this.length;
    const t = this.startTime + seconds + 1e-9; // tolerate float error in pts/time_base
    let lo = 0;
    let hi = this.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.pts[mid] <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
