/**
 * Seek planning: turns "these frames, please" into a DecodePlan a backend executes in one
 * native call. The plan is a list of runs; each run either continues decoding from where the
 * decoder stopped or seeks to a keyframe first, then decodes forward keeping the listed frames.
 *
 * The choice between seeking and decoding through is a cost comparison, measured in "frame
 * decodes": reaching frame t by continuing from position p costs (t - p); seeking costs
 * `seekCost` plus (t - k) where k is the keyframe at or before t. Users never tune a threshold.
 * Frames the backend still holds decoded (its decoded-frame cache, as the last plan reported it)
 * cost no decoding at all: they come first, in one run that starts FROM_CACHE.
 */
import { InexactFrameError } from './errors.js';
import type { FrameIndex } from './frame-index.js';

/** `continue`: keep decoding from the decoder's current position. */
export const CONTINUE = -1;
/** Seek to the very start of the stream (used when no keyframe precedes a frame). */
export const FROM_START = -2;
/** Take the frames from the backend's decoded-frame cache (DecodeResult.cached): no decoding. */
export const FROM_CACHE = -3;

export interface DecodeRun {
  /** Keyframe index (presentation order) to seek to, or CONTINUE / FROM_START / FROM_CACHE. */
  start: number;
  /** Frames to keep, ascending and distinct; the run decodes up to the last of them. */
  keep: number[];
  /**
   * For a run that continues from a predicted position (planDecode's `predicted`): it continues
   * only if the decoder is at `from`, the frame the calls queued ahead should leave it at, and
   * otherwise (one failed, or left it elsewhere) seeks to `orSeek`, a keyframe or FROM_START.
   */
  orSeek?: number;
  from?: number;
}

export interface DecodePlan {
  runs: DecodeRun[];
}

export interface SeekCostModel {
  /** What one seek costs, in units of "decoding one frame". */
  seekCost: number;
}

export const DEFAULT_COST_MODEL: SeekCostModel = { seekCost: 6 };

/**
 * @param targets   frames wanted (any order, duplicates allowed; validated by the caller)
 * @param position  the last frame the decoder delivered (-1 right after opening, so frame 0 is
 *                  next), or null when the decoder's position is unknown and it must seek
 * @param cached    frames the backend holds decoded (DecodeResult.cached of the last plan)
 * @param predicted `position` is where the calls queued ahead of this one should leave the
 *                  decoder, not where the backend reported it: a run that continues from it
 *                  names where to seek instead (orSeek), for when it is not so
 */
export function planDecode(
  index: FrameIndex,
  targets: Iterable<number>,
  position: number | null,
  cost: SeekCostModel = DEFAULT_COST_MODEL,
  cached: ReadonlySet<number> = new Set(),
  predicted = false,
): DecodePlan {
  const sorted = [...new Set(targets)].sort((a, b) => a - b);
  const runs: DecodeRun[] = [];
  // First, before any decoding could evict them.
  const fromCache: DecodeRun = { start: FROM_CACHE, keep: [] };
  let current: DecodeRun | null = null;
  let pos = position;
  for (const t of sorted) {
    if (cached.has(t)) {
      fromCache.keep.push(t);
      continue;
    }
    const k = index.keyframeAtOrBefore(t);
    let mustSeek = pos === null || pos >= t;
    if (!mustSeek && pos !== null) {
      // Continuing costs (t - pos); seeking costs seekCost + (t - k). Continue when cheaper or
      // equal, which is always the case when the keyframe is behind the decoder already.
      const continueCost = t - pos;
      const seekCostTotal = cost.seekCost + (k < 0 ? t + 1 : t - k);
      mustSeek = seekCostTotal < continueCost;
    }
    if (mustSeek) {
      current = { start: k < 0 ? FROM_START : k, keep: [t] };
      runs.push(current);
    } else if (current) {
      current.keep.push(t);
    } else {
      current = { start: CONTINUE, keep: [t] };
      if (predicted && pos !== null) Object.assign(current, { orSeek: k < 0 ? FROM_START : k, from: pos });
      runs.push(current);
    }
    pos = t;
  }
  if (fromCache.keep.length > 0) runs.unshift(fromCache);
  return { runs };
}

/** Frames kept by a plan, in the order the backend fills its output buffers. */
export function planOutputOrder(plan: DecodePlan): number[] {
  return plan.runs.flatMap((r) => r.keep);
}

/**
 * Every buffer holds the frame asked for (`order`, from planOutputOrder), by the backend's own
 * account (DecodeResult.delivered); otherwise TVL_INEXACT_FRAME naming the frame asked for.
 */
export function checkDelivered(order: number[], delivered: ArrayLike<number> | undefined, backend: string, path: string): void {
  if (delivered?.length !== order.length) {
    throw new InexactFrameError(
      `backend '${backend}' reported ${delivered?.length ?? 'no'} delivered frames for ${order.length} requested: ` +
        'what it wrote cannot be identified',
      { path, frameIndex: order[0] },
    );
  }
  order.forEach((want, k) => {
    if (delivered[k] !== want) {
      throw new InexactFrameError(`frame ${want} was requested but backend '${backend}' delivered frame ${delivered[k]} in its place`, {
        path,
        frameIndex: want,
      });
    }
  });
}
