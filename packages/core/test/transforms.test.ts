import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { crop, denormalise, fit, flip, normalise, resize } from '../src/index.js';

/** A 2x3 frame, 1 channel: [[1, 2, 3], [4, 5, 6]]. */
const frame = () => tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('normalise / denormalise', () => {
  it('subtracts the mean and divides by the std per channel', () => {
    const x = tf.tensor3d([0.5, 0.25, 1, 0, 0.75, 0.5], [1, 2, 3]);
    const y = normalise(x, [0.5, 0.25, 0.5], [0.5, 0.25, 0.25]);
    expect(values(y)).toEqual([0, 0, 2, -1, 2, 0]);
    expect(values(denormalise(y, [0.5, 0.25, 0.5], [0.5, 0.25, 0.25]))).toEqual([0.5, 0.25, 1, 0, 0.75, 0.5]);
  });

  it('works on clips [T, H, W, C] and int32 input', () => {
    const clip = tf.tensor4d([10, 20, 30, 40], [2, 1, 1, 2], 'int32');
    const y = normalise(clip, 10, 10);
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual([2, 1, 1, 2]);
    expect(values(y)).toEqual([0, 1, 2, 3]);
  });

  it('rejects a wrong channel count, a zero std and a bad rank', () => {
    expect(() => normalise(frame(), [0, 0], [1, 1])).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
    expect(() => normalise(frame(), 0, 0)).toThrow(/std must not be 0/);
    expect(() => normalise(tf.tensor1d([1]) as unknown as tf.Tensor3D, 0, 1)).toThrow(/expected a frame/);
  });
});

describe('resize', () => {
  it('nearest doubles each pixel', () => {
    const y = resize(frame(), { height: 4, width: 6 }, 'nearest');
    expect(y.shape).toEqual([4, 6, 1]);
    expect(values(y)).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6]);
  });

  it('bilinear with half-pixel centres interpolates between neighbours', () => {
    // 1x2 [0, 8] -> 1x4: sample points x = 0.25*2-0.5 ... : -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1
    const y = resize(tf.tensor3d([0, 8], [1, 2, 1]), { height: 1, width: 4 }, 'bilinear');
    expect(values(y)).toEqual([0, 2, 6, 8]);
  });

  it('resizes every frame of a clip', () => {
    const clip = tf.stack([frame(), tf.mul(frame(), 10)]) as tf.Tensor4D;
    const y = resize(clip, { height: 1, width: 3 }, 'nearest');
    expect(y.shape).toEqual([2, 1, 3, 1]);
  });
});

describe('crop', () => {
  it('crops inside the image', () => {
    expect(values(crop(frame(), { top: 0, left: 1, height: 2, width: 2 }))).toEqual([2, 3, 5, 6]);
  });

  it('pads outside the image with a constant', () => {
    const y = crop(frame(), { top: -1, left: 2, height: 3, width: 2 }, { fill: 9 });
    expect(y.shape).toEqual([3, 2, 1]);
    expect(values(y)).toEqual([9, 9, 3, 9, 6, 9]);
  });

  it('pads outside the image by repeating the edge', () => {
    const y = crop(frame(), { top: -1, left: -1, height: 4, width: 5 }, { padding: 'edge' });
    expect(values(y)).toEqual([1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6]);
  });

  it('crops clips on their spatial axes', () => {
    const clip = tf.stack([frame(), tf.mul(frame(), 10)]) as tf.Tensor4D;
    expect(values(crop(clip, { top: 1, left: 0, height: 1, width: 2 }))).toEqual([4, 5, 40, 50]);
  });
});

describe('flip', () => {
  it('horizontal mirrors columns, vertical mirrors rows', () => {
    expect(values(flip(frame()))).toEqual([3, 2, 1, 6, 5, 4]);
    expect(values(flip(frame(), 'vertical'))).toEqual([4, 5, 6, 1, 2, 3]);
  });

  it('flips each frame of a clip, not the time axis', () => {
    const clip = tf.stack([frame(), tf.mul(frame(), 10)]) as tf.Tensor4D;
    expect(values(flip(clip))).toEqual([3, 2, 1, 6, 5, 4, 30, 20, 10, 60, 50, 40]);
  });
});

describe('fit', () => {
  it("'contain' scales to fit and pads around (letterbox)", () => {
    // 2x3 into 4x3: scale min(4/2, 3/3) = 1, no resize; pad 1 row above and below.
    const y = fit(frame(), { height: 4, width: 3 }, { mode: 'contain', fill: 0 });
    expect(values(y)).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0]);
  });

  it("'cover' scales to cover and centre-crops", () => {
    // 2x3 into 2x2: scale max(1, 2/3) = 1, crop the centre columns (left = floor(1/2) = 0).
    expect(values(fit(frame(), { height: 2, width: 2 }, { mode: 'cover' }))).toEqual([1, 2, 4, 5]);
    // 2x3 into 4x4: scale max(2, 4/3) = 2 -> 4x6 (nearest), crop columns 1..4.
    const y = fit(frame(), { height: 4, width: 4 }, { mode: 'cover', method: 'nearest' });
    expect(values(y)).toEqual([1, 2, 2, 3, 1, 2, 2, 3, 4, 5, 5, 6, 4, 5, 5, 6]);
  });
});
