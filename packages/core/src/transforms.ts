/**
 * Transforms on frames ([H, W, C]) and clips ([T, H, W, C]) as tfjs tensors, channel-last (the
 * loader's default 'hwc' layout). Each returns a new tensor and leaves its input alone (the
 * caller disposes it), so they compose inside tf.tidy.
 *
 * For training at scale, resizing belongs in the decoder (`outWidth`/`outHeight`), which does it
 * in the same native pass as colour conversion; these are for what comes after.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError, describeValue } from './errors.js';

export type FrameOrClip = tf.Tensor3D | tf.Tensor4D;
export type Interpolation = 'nearest' | 'bilinear';

/** Largest output side a transform makes (a typo'd size would otherwise exhaust memory). */
const MAX_SIDE = 16384;

/** `batches`: per-channel transforms also take batches of clips [B, T, H, W, C] (what BatchDataLoader gives). */
function checkRank(x: tf.Tensor, name: string, batches = false): void {
  if (!(x instanceof tf.Tensor)) throw new InvalidArgumentError(`${name}: expected a tf.Tensor frame or clip, got ${describeValue(x)}`);
  if (x.rank !== 3 && x.rank !== 4 && !(batches && x.rank === 5)) {
    const expected = batches
      ? 'a frame [H, W, C], a clip [T, H, W, C] or a batch of clips [B, T, H, W, C]'
      : 'a frame [H, W, C] or a clip [T, H, W, C]';
    throw new InvalidArgumentError(`${name}: expected ${expected}, got shape [${x.shape.join(', ')}]`);
  }
}

/** Height and width axes of a frame or clip. */
function spatialAxes(x: tf.Tensor): [number, number] {
  return x.rank === 3 ? [0, 1] : [1, 2];
}

function channelVector(v: number | readonly number[], channels: number, name: string): tf.Tensor1D {
  const values: unknown[] = typeof v === 'number' ? Array<number>(channels).fill(v) : Array.isArray(v) ? [...v] : [];
  if (values.length !== channels || values.some((e) => typeof e !== 'number' || !Number.isFinite(e))) {
    throw new InvalidArgumentError(`${name}: expected a number or ${channels} finite numbers (one per channel), got ${describeValue(v)}`);
  }
  return tf.tensor1d(values as number[], 'float32');
}

function checkSide(n: unknown, name: string): void {
  if (!Number.isInteger(n) || (n as number) <= 0 || (n as number) > MAX_SIDE) {
    throw new InvalidArgumentError(`${name} must be an integer from 1 to ${MAX_SIDE}, got ${describeValue(n)}`);
  }
}

function checkSize(size: unknown, name: string): asserts size is { height: number; width: number } {
  if (size === null || typeof size !== 'object')
    throw new InvalidArgumentError(`${name}: expected { height, width }, got ${describeValue(size)}`);
  const s = size as { height?: unknown; width?: unknown };
  checkSide(s.height, `${name} height`);
  checkSide(s.width, `${name} width`);
}

function checkOptions(options: unknown, name: string): void {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError(`${name}: expected an options object, got ${describeValue(options)}`);
}

/** (x - mean) / std per channel. ImageNet on [0, 1] input: mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]. */
export function normalise<T extends FrameOrClip | tf.Tensor5D>(x: T, mean: number | readonly number[], std: number | readonly number[]): T {
  checkRank(x, 'normalise', true);
  const c = x.shape[x.rank - 1];
  return tf.tidy(() => {
    const s = channelVector(std, c, 'normalise std');
    if (s.dataSync().some((e) => e === 0)) throw new InvalidArgumentError('normalise: std must not be 0');
    return tf.div(tf.sub(tf.cast(x, 'float32'), channelVector(mean, c, 'normalise mean')), s) as T;
  });
}

/** The inverse of normalise: x * std + mean per channel. */
export function denormalise<T extends FrameOrClip | tf.Tensor5D>(
  x: T,
  mean: number | readonly number[],
  std: number | readonly number[],
): T {
  checkRank(x, 'denormalise', true);
  const c = x.shape[x.rank - 1];
  return tf.tidy(
    () => tf.add(tf.mul(tf.cast(x, 'float32'), channelVector(std, c, 'denormalise std')), channelVector(mean, c, 'denormalise mean')) as T,
  );
}

/** Resizes to height x width. Bilinear uses half-pixel centres (like OpenCV and PIL); int32 input stays int32 for 'nearest'. */
export function resize<T extends FrameOrClip>(x: T, size: { height: number; width: number }, method: Interpolation = 'bilinear'): T {
  checkRank(x, 'resize');
  checkSize(size, 'resize');
  if (method !== 'nearest' && method !== 'bilinear') throw new InvalidArgumentError(`resize: unknown method ${describeValue(method)}`);
  const target: [number, number] = [size.height, size.width];
  return tf.tidy(() => {
    const input = method === 'bilinear' ? tf.cast(x, 'float32') : x;
    const out =
      method === 'nearest'
        ? tf.image.resizeNearestNeighbor(input as tf.Tensor3D | tf.Tensor4D, target, false, true)
        : tf.image.resizeBilinear(input as tf.Tensor3D | tf.Tensor4D, target, false, true);
    return out as T;
  });
}

export interface CropRegion {
  /** Row of the region's top edge; may be negative (above the image). */
  top: number;
  /** Column of the region's left edge; may be negative. */
  left: number;
  height: number;
  width: number;
}

export interface PadOptions {
  /** 'constant' (default): fill outside the image with `fill`; 'edge': repeat the nearest edge pixel. */
  padding?: 'constant' | 'edge';
  /** Fill value for 'constant' padding (default 0). */
  fill?: number;
}

/** Crops a region that may extend past the image; the part outside is padded. */
export function crop<T extends FrameOrClip>(x: T, region: CropRegion, options: PadOptions = {}): T {
  checkRank(x, 'crop');
  checkSize(region, 'crop');
  checkOptions(options, 'crop');
  const { top, left, height, width } = region;
  if (!Number.isSafeInteger(top) || !Number.isSafeInteger(left)) {
    throw new InvalidArgumentError(`crop: top and left must be integers, got ${describeValue(top)}, ${describeValue(left)}`);
  }
  const padding = options.padding ?? 'constant';
  if (padding !== 'constant' && padding !== 'edge') throw new InvalidArgumentError(`crop: unknown padding ${describeValue(padding)}`);
  if (options.fill !== undefined && (typeof options.fill !== 'number' || Number.isNaN(options.fill))) {
    throw new InvalidArgumentError(`crop: fill must be a number, got ${describeValue(options.fill)}`);
  }
  const [hAxis, wAxis] = spatialAxes(x);
  const H = x.shape[hAxis];
  const W = x.shape[wAxis];
  return tf.tidy(() => {
    if (padding === 'edge') {
      // Row/column indices clamped into the image: outside pixels repeat the edge.
      const rows = tf.tensor1d(
        Array.from({ length: height }, (_, i) => Math.min(H - 1, Math.max(0, top + i))),
        'int32',
      );
      const cols = tf.tensor1d(
        Array.from({ length: width }, (_, j) => Math.min(W - 1, Math.max(0, left + j))),
        'int32',
      );
      return tf.gather(tf.gather(x, rows, hAxis), cols, wAxis) as T;
    }
    const padTop = Math.max(0, -top);
    const padLeft = Math.max(0, -left);
    const padBottom = Math.max(0, top + height - H);
    const padRight = Math.max(0, left + width - W);
    const pads: [number, number][] = x.shape.map(() => [0, 0] as [number, number]);
    pads[hAxis] = [padTop, padBottom];
    pads[wAxis] = [padLeft, padRight];
    const padded = padTop || padLeft || padBottom || padRight ? tf.pad(x, pads, options.fill ?? 0) : x;
    const begin = x.shape.map(() => 0);
    begin[hAxis] = top + padTop;
    begin[wAxis] = left + padLeft;
    const sizeOut = [...x.shape];
    sizeOut[hAxis] = height;
    sizeOut[wAxis] = width;
    return tf.slice(padded, begin, sizeOut) as T;
  });
}

/** Flips horizontally (left-right, default) or vertically (upside down). */
export function flip<T extends FrameOrClip>(x: T, direction: 'horizontal' | 'vertical' = 'horizontal'): T {
  checkRank(x, 'flip');
  if (direction !== 'horizontal' && direction !== 'vertical')
    throw new InvalidArgumentError(`flip: unknown direction ${describeValue(direction)}`);
  const [hAxis, wAxis] = spatialAxes(x);
  return tf.reverse(x, direction === 'horizontal' ? wAxis : hAxis) as T;
}

export interface FitOptions extends PadOptions {
  /**
   * 'cover': scale until the target is covered, then centre-crop (nothing padded).
   * 'contain' (default): scale until the image fits, then pad around it (nothing cropped).
   */
  mode?: 'cover' | 'contain';
  method?: Interpolation;
}

/** Fits into height x width keeping the aspect ratio: centre-cropped ('cover') or padded ('contain'). */
export function fit<T extends FrameOrClip>(x: T, size: { height: number; width: number }, options: FitOptions = {}): T {
  checkRank(x, 'fit');
  checkSize(size, 'fit');
  checkOptions(options, 'fit');
  const mode = options.mode ?? 'contain';
  if (mode !== 'cover' && mode !== 'contain') throw new InvalidArgumentError(`fit: unknown mode ${describeValue(mode)}`);
  const [hAxis, wAxis] = spatialAxes(x);
  const H = x.shape[hAxis];
  const W = x.shape[wAxis];
  const scale = mode === 'cover' ? Math.max(size.height / H, size.width / W) : Math.min(size.height / H, size.width / W);
  const h = Math.max(1, Math.round(H * scale));
  const w = Math.max(1, Math.round(W * scale));
  return tf.tidy(() => {
    const scaled = h === H && w === W ? x : resize(x, { height: h, width: w }, options.method ?? 'bilinear');
    // Centre the target window on the scaled image (negative offsets pad, for 'contain').
    const top = Math.floor((h - size.height) / 2);
    const left = Math.floor((w - size.width) / 2);
    return crop(scaled, { top, left, height: size.height, width: size.width }, options);
  });
}
