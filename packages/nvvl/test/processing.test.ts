/** The sequence API's processing arithmetic and validation (no decoding). */
import { augmentations, resolveProcessing, sequenceFrames } from '@tvl/nvvl';

const video = { width: 320, height: 240 };

describe('resolveProcessing', () => {
  it('defaults to the video size, bilinear, RGB, float32, hwc, no crop or flip', () => {
    expect(resolveProcessing({}, video)).toEqual({
      resizeWidth: 320,
      resizeHeight: 240,
      width: 320,
      height: 240,
      cropAt: { x: 0, y: 0 },
      flipProbability: 0,
      seed: 0,
      dtype: 'float32',
      normalise: undefined,
      interpolation: 'bilinear',
      colourSpace: 'rgb',
      layout: 'hwc',
    });
  });

  it('centres a crop of the resized frame unless placed', () => {
    expect(resolveProcessing({ resize: { width: 256, height: 171 }, crop: { width: 224, height: 112 } }, video)).toMatchObject({
      resizeWidth: 256,
      resizeHeight: 171,
      width: 224,
      height: 112,
      cropAt: { x: 16, y: 29 },
    });
    expect(resolveProcessing({ crop: { width: 100, height: 100, x: 220, y: 0 } }, video).cropAt).toEqual({ x: 220, y: 0 });
    expect(resolveProcessing({ crop: { width: 100, height: 100, random: true } }, video).cropAt).toBeNull();
  });

  it.each([
    [{ resize: { width: 0, height: 10 } }, /resize.width must be a positive integer/],
    [{ resize: { width: 10.5, height: 10 } }, /resize.width/],
    [{ crop: { width: 400, height: 10 } }, /crop 400x10 is larger than the resized frame 320x240/],
    [{ crop: { width: 100, height: 100, x: 221 } }, /crop 100x100 at \(221, 70\) does not fit in the resized frame 320x240/],
    [{ crop: { width: 100, height: 100, x: -1 } }, /does not fit/],
    [{ crop: { width: 10, height: 10, x: 0, random: true } }, /x\/y or random, not both/],
    [{ flip: 1.5 }, /flip probability must be in \[0, 1\]/],
    [{ flip: 'yes' }, /flip must be a boolean or a probability/],
    [{ normalise: { mean: [0, 0], std: [1, 1, 1] } }, /normalise.mean must be 3 finite numbers/],
    [{ normalise: { mean: [0, 0, 0], std: [1, 0, 1] } }, /std must not contain 0/],
    [{ normalise: { mean: [0, 0, 0], std: [1, 1, 1] }, dtype: 'int32' }, /normalise needs dtype 'float32'/],
    [{ dtype: 'uint8' }, /dtype must be 'float32' or 'int32'/],
    [{ layout: 'nchw' }, /layout must be 'hwc' or 'chw'/],
    [{ interpolation: 'cubic' }, /interpolation must be 'bilinear' or 'nearest'/],
    [{ colourSpace: 'hsv' }, /colourSpace must be 'rgb' or 'ycbcr'/],
    [{ seed: 1.5 }, /seed must be an integer/],
  ])('rejects %j', (p, message) => {
    expect(() => resolveProcessing(p as never, video)).toThrow(
      expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT', message: expect.stringMatching(message) }),
    );
  });
});

describe('augmentations', () => {
  const random = resolveProcessing(
    { resize: { width: 256, height: 256 }, crop: { width: 224, height: 200, random: true }, flip: 0.5 },
    video,
  );

  it('random crops stay inside the resized frame and cover its range', () => {
    const a = augmentations(random, 2000, 7);
    expect(a.every((x) => x.cropX >= 0 && x.cropX <= 32 && x.cropY >= 0 && x.cropY <= 56)).toBe(true);
    expect(new Set(a.map((x) => x.cropX)).size).toBe(33);
    expect(new Set(a.map((x) => x.cropY)).size).toBe(57);
  });

  it('flips with the given probability, reproducibly per seed', () => {
    const a = augmentations(random, 2000, 7);
    const flips = a.filter((x) => x.flipped).length;
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
    expect(augmentations(random, 50, 7)).toEqual(a.slice(0, 50));
    expect(augmentations(random, 50, 8)).not.toEqual(a.slice(0, 50));
  });

  it('fixed crop and flip: true / false are the same for every sequence', () => {
    const fixed = resolveProcessing({ crop: { width: 100, height: 50, x: 3, y: 4 }, flip: true }, video);
    expect(augmentations(fixed, 3, 1)).toEqual(Array(3).fill({ cropX: 3, cropY: 4, flipped: true }));
    expect(augmentations(resolveProcessing({}, video), 2, 1)).toEqual(Array(2).fill({ cropX: 0, cropY: 0, flipped: false }));
  });
});

describe('sequenceFrames', () => {
  it('start, count, stride', () => {
    expect(sequenceFrames(5, 4)).toEqual([5, 6, 7, 8]);
    expect(sequenceFrames(0, 3, 4)).toEqual([0, 4, 8]);
    expect(() => sequenceFrames(-1, 3)).toThrow(/start must be an integer >= 0/);
    expect(() => sequenceFrames(0, 0)).toThrow(/sequence count must be a positive integer/);
    expect(() => sequenceFrames(0, 2, 0)).toThrow(/sequence stride must be a positive integer/);
  });
});
