/**
 * The processing of nvvl's sequence API, checked and resolved in one place: what the user asks
 * for (resize, crop, random crop, flip, normalise, colour space, dtype, layout), the size of
 * every output frame, and the per-sequence augmentation (crop offset, flip) drawn from a seed.
 * Pure arithmetic: tested on the CPU; the native kernel only executes what this decides.
 */
import { InvalidArgumentError, seededRandom } from '@tvl/core';
import type { ProcessedOutput } from '@tvl/core/backend';

export interface SequenceProcessing {
  /** Scale the (display-oriented) frame to this size first. Default: the video's size. */
  resize?: { width: number; height: number };
  /** Sampling for the resize: 'bilinear' (default, half-pixel centres) or 'nearest'. */
  interpolation?: 'bilinear' | 'nearest';
  /**
   * A window of the resized frame: the output frame size. `x`/`y` place it (default: centred);
   * with `random: true` each sequence gets its own place, drawn from `seed`.
   */
  crop?: { width: number; height: number; x?: number; y?: number; random?: boolean };
  /** Mirror left-right: true (every sequence), or the probability per sequence, drawn from `seed`. */
  flip?: boolean | number;
  /** Seed for random crops and flips (default 0): the same seed gives the same augmentation. */
  seed?: number;
  /** Per-channel (v - mean) / std on float32 values in [0, 1], e.g. ImageNet's. */
  normalise?: { mean: readonly number[]; std: readonly number[] };
  /** 'rgb' (default) or 'ycbcr' (the decoded Y, Cb, Cr samples, no matrix). */
  colourSpace?: 'rgb' | 'ycbcr';
  /** 'float32' (default: [0, 1], then normalised) or 'int32' (0..255). */
  dtype?: 'float32' | 'int32';
  /** 'hwc' (default): [B, T, H, W, C]; 'chw': [B, T, C, H, W]. */
  layout?: 'hwc' | 'chw';
}

/** The augmentation one sequence received. */
export interface Augmentation {
  cropX: number;
  cropY: number;
  flipped: boolean;
}

export interface ResolvedProcessing {
  resizeWidth: number;
  resizeHeight: number;
  width: number;
  height: number;
  interpolation: 'bilinear' | 'nearest';
  colourSpace: 'rgb' | 'ycbcr';
  dtype: 'float32' | 'int32';
  layout: 'hwc' | 'chw';
  normalise?: { mean: number[]; std: number[] };
  /** Fixed crop offset, or null for a random one per sequence. */
  cropAt: { x: number; y: number } | null;
  flipProbability: number;
  seed: number;
}

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], fallback: T, name: string): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T))
    throw new InvalidArgumentError(`${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function channels(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || v.length !== 3 || v.some((e) => typeof e !== 'number' || !Number.isFinite(e))) {
    throw new InvalidArgumentError(`${name} must be 3 finite numbers (R, G, B), got ${JSON.stringify(v)}`);
  }
  return [...v] as number[];
}

/** Checks a processing request against the size of the video it applies to. */
export function resolveProcessing(p: SequenceProcessing, video: { width: number; height: number }): ResolvedProcessing {
  if (p === null || typeof p !== 'object') throw new InvalidArgumentError(`processing must be an object, got ${JSON.stringify(p)}`);
  const resizeWidth = p.resize ? positiveInt(p.resize.width, 'resize.width') : video.width;
  const resizeHeight = p.resize ? positiveInt(p.resize.height, 'resize.height') : video.height;
  let width = resizeWidth;
  let height = resizeHeight;
  let cropAt: { x: number; y: number } | null = { x: 0, y: 0 };
  if (p.crop) {
    width = positiveInt(p.crop.width, 'crop.width');
    height = positiveInt(p.crop.height, 'crop.height');
    if (width > resizeWidth || height > resizeHeight) {
      throw new InvalidArgumentError(`crop ${width}x${height} is larger than the resized frame ${resizeWidth}x${resizeHeight}`);
    }
    if (p.crop.random) {
      if (p.crop.x !== undefined || p.crop.y !== undefined) throw new InvalidArgumentError('crop: give x/y or random, not both');
      cropAt = null;
    } else {
      const x = p.crop.x ?? Math.floor((resizeWidth - width) / 2);
      const y = p.crop.y ?? Math.floor((resizeHeight - height) / 2);
      if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + width > resizeWidth || y + height > resizeHeight) {
        throw new InvalidArgumentError(
          `crop ${width}x${height} at (${x}, ${y}) does not fit in the resized frame ${resizeWidth}x${resizeHeight}`,
        );
      }
      cropAt = { x, y };
    }
  }
  let flipProbability = 0;
  if (p.flip === true) flipProbability = 1;
  else if (typeof p.flip === 'number') {
    if (!(p.flip >= 0 && p.flip <= 1)) throw new InvalidArgumentError(`flip probability must be in [0, 1], got ${p.flip}`);
    flipProbability = p.flip;
  } else if (p.flip !== undefined && p.flip !== false) {
    throw new InvalidArgumentError(`flip must be a boolean or a probability, got ${JSON.stringify(p.flip)}`);
  }
  const seed = p.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${seed}`);
  const dtype = oneOf(p.dtype, ['float32', 'int32'] as const, 'float32', 'dtype');
  let normalise: ResolvedProcessing['normalise'];
  if (p.normalise !== undefined) {
    if (dtype !== 'float32') throw new InvalidArgumentError("normalise needs dtype 'float32'");
    const mean = channels(p.normalise.mean, 'normalise.mean');
    const std = channels(p.normalise.std, 'normalise.std');
    if (std.some((s) => s === 0)) throw new InvalidArgumentError('normalise.std must not contain 0');
    normalise = { mean, std };
  }
  return {
    resizeWidth,
    resizeHeight,
    width,
    height,
    cropAt,
    flipProbability,
    seed,
    dtype,
    normalise,
    interpolation: oneOf(p.interpolation, ['bilinear', 'nearest'] as const, 'bilinear', 'interpolation'),
    colourSpace: oneOf(p.colourSpace, ['rgb', 'ycbcr'] as const, 'rgb', 'colourSpace'),
    layout: oneOf(p.layout, ['hwc', 'chw'] as const, 'hwc', 'layout'),
  };
}

/** The random numbers behind one sequence's augmentation, each in [0, 1). */
export interface AugmentationDraw {
  x: number;
  y: number;
  flip: number;
}

/**
 * The draws of a batch's sequences: one generator per batch call, seeded with `seed + callNumber`,
 * so a run is reproducible and consecutive batches differ. Three per sequence whatever the
 * processing, so a sequence's draws do not depend on its neighbours' videos.
 */
export function augmentationDraws(count: number, seed: number): AugmentationDraw[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => ({ x: rand(), y: rand(), flip: rand() }));
}

/** One sequence's augmentation: its draws applied to the processing resolved for its video. */
export function augmentationOf(r: ResolvedProcessing, draw: AugmentationDraw): Augmentation {
  const cropX = r.cropAt ? r.cropAt.x : Math.floor(draw.x * (r.resizeWidth - r.width + 1));
  const cropY = r.cropAt ? r.cropAt.y : Math.floor(draw.y * (r.resizeHeight - r.height + 1));
  return { cropX, cropY, flipped: draw.flip < r.flipProbability };
}

/** The augmentations of `count` sequences of one video (see augmentationDraws). */
export function augmentations(r: ResolvedProcessing, count: number, seed: number): Augmentation[] {
  return augmentationDraws(count, seed).map((d) => augmentationOf(r, d));
}

/** What the backend fuses into its conversion for one sequence: the output and the FrameProcessing. */
export function processedOutput(r: ResolvedProcessing, a: Augmentation): ProcessedOutput {
  return {
    spec: { width: r.width, height: r.height, dtype: r.dtype, layout: r.layout },
    processing: {
      resizeWidth: r.resizeWidth,
      resizeHeight: r.resizeHeight,
      cropX: a.cropX,
      cropY: a.cropY,
      flip: a.flipped,
      interpolation: r.interpolation,
      colourSpace: r.colourSpace,
      ...(r.normalise ? { mean: r.normalise.mean, std: r.normalise.std } : {}),
    },
  };
}

/** The frame indices of a sequence: start, start + stride, ... (count of them). */
export function sequenceFrames(start: number, count: number, stride = 1): number[] {
  if (!Number.isInteger(start) || start < 0) throw new InvalidArgumentError(`sequence start must be an integer >= 0, got ${start}`);
  positiveInt(count, 'sequence count');
  positiveInt(stride, 'sequence stride');
  return Array.from({ length: count }, (_, k) => start + k * stride);
}
