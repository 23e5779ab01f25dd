/**
 * The per-file frame index: one entry per presented frame, in presentation order, built by a
 * backend from demuxing alone (no decoding). Frame i is entry i. Everything core plans (which
 * keyframe to seek to, which frame a time means, how many frames there are) comes from here,
 * never from header estimates.
 */
export interface FrameIndexData {
  /** Presentation timestamps in seconds, ascending, one per frame. */
  pts: Float64Array;
  /** 1 where the frame is a keyframe (a point decoding can start from), else 0. */
  keyframe: Uint8Array;
  /** How long the last frame is shown, in seconds (for `duration`). */
  lastFrameDuration: number;
  /** True when demuxing stopped on a read error before the end of the file (a cut-off download). */
  truncated?: boolean;
}

export class FrameIndex {
  readonly pts: Float64Array;
  readonly keyframe: Uint8Array;
  /** prevKeyframe[i]: the largest keyframe index <= i, or -1 when none precedes i. */
  private readonly prevKeyframe: Int32Array;
  readonly lastFrameDuration: number;
  /** Demuxing stopped on a read error: the file is cut short; its last frame may be damaged. */
  readonly truncated: boolean;

  constructor(data: FrameIndexData) {
    if (data.pts.length !== data.keyframe.length) {
      throw new Error(`frame index: ${data.pts.length} timestamps but ${data.keyframe.length} keyframe flags`);
    }
    this.pts = data.pts;
    this.keyframe = data.keyframe;
    this.lastFrameDuration = data.lastFrameDuration;
    this.truncated = data.truncated ?? false;
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
