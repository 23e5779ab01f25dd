import { FrameIndex } from '@tvl/core';
import { planDecode, planOutputOrder, CONTINUE, FROM_CACHE, FROM_START } from '@tvl/core/backend';

/** n frames at 25 fps with a keyframe every `gop` frames. */
function index(n: number, gop: number, firstIsKey = true): FrameIndex {
  return new FrameIndex({
    pts: Float64Array.from({ length: n }, (_, i) => i / 25),
    keyframe: Uint8Array.from({ length: n }, (_, i) => (i % gop === 0 && (firstIsKey || i > 0) ? 1 : 0)),
    lastFrameDuration: 1 / 25,
  });
}

describe('planDecode', () => {
  const idx = index(1000, 250);

  it('continues from the start for early frames right after opening', () => {
    expect(planDecode(idx, [0, 1, 2], -1)).toEqual({ runs: [{ start: CONTINUE, keep: [0, 1, 2] }] });
  });

  it('sorts and de-duplicates targets; output order is ascending', () => {
    const plan = planDecode(idx, [5, 3, 5, 4], -1);
    expect(planOutputOrder(plan)).toEqual([3, 4, 5]);
  });

  it('seeks to the keyframe at or before a far frame', () => {
    expect(planDecode(idx, [600], -1)).toEqual({ runs: [{ start: 500, keep: [600] }] });
  });

  it('decodes through a near frame in the same GOP instead of seeking', () => {
    const plan = planDecode(idx, [510, 530], -1);
    expect(plan.runs).toEqual([{ start: 500, keep: [510, 530] }]);
  });

  it('continues when the target is just past the decoder even across a keyframe', () => {
    // From 248, frame 251 costs 3 decodes by continuing and seekCost + 1 by seeking.
    expect(planDecode(idx, [251], 248).runs).toEqual([{ start: CONTINUE, keep: [251] }]);
    // From 100, frame 251 costs 151 by continuing: seek to 250.
    expect(planDecode(idx, [251], 100).runs).toEqual([{ start: 250, keep: [251] }]);
  });

  it('seeks back for a frame behind the decoder', () => {
    expect(planDecode(idx, [10], 20).runs).toEqual([{ start: 0, keep: [10] }]);
  });

  it('seeks when the decoder position is unknown', () => {
    expect(planDecode(idx, [1], null).runs).toEqual([{ start: 0, keep: [1] }]);
  });

  it('starts from the top of the file when no keyframe precedes the frame', () => {
    const openStart = index(100, 50, false);
    expect(planDecode(openStart, [10], null).runs).toEqual([{ start: FROM_START, keep: [10] }]);
  });

  it('uses the cost model: a cheaper seek seeks more often', () => {
    const shortGop = index(100, 10);
    expect(planDecode(shortGop, [0, 25], -1, { seekCost: 2 }).runs).toEqual([
      { start: CONTINUE, keep: [0] },
      { start: 20, keep: [25] },
    ]);
    expect(planDecode(shortGop, [0, 25], -1, { seekCost: 100 }).runs).toEqual([{ start: CONTINUE, keep: [0, 25] }]);
  });

  it('takes cached frames from the cache, in one run before any decoding, wherever the decoder is', () => {
    const cached = new Set([90, 95, 96, 600]);
    const plan = planDecode(idx, [96, 100, 90, 600, 30], 99, { seekCost: 6 }, cached);
    expect(plan.runs).toEqual([
      { start: FROM_CACHE, keep: [90, 96, 600] },
      { start: 0, keep: [30, 100] },
    ]);
    expect(planOutputOrder(plan)).toEqual([90, 96, 600, 30, 100]);
    // Only cached frames: nothing decoded, the decoder left where it is.
    expect(planDecode(idx, [95], null, { seekCost: 6 }, cached).runs).toEqual([{ start: FROM_CACHE, keep: [95] }]);
  });

  it('from a predicted position (calls queued ahead), a run that continues names where to seek if the decoder is not there', () => {
    expect(planDecode(idx, [12, 13], 10, undefined, new Set(), true).runs).toEqual([
      { start: CONTINUE, keep: [12, 13], orSeek: 0, from: 10 },
    ]);
    // Runs that seek need nothing more; nor do plans from the decoder's reported position.
    expect(planDecode(idx, [600], 10, undefined, new Set(), true).runs).toEqual([{ start: 500, keep: [600] }]);
    expect(planDecode(idx, [12], 10).runs).toEqual([{ start: CONTINUE, keep: [12] }]);
    expect(planDecode(index(20, 10, false), [3], 1, undefined, new Set(), true).runs).toEqual([
      { start: CONTINUE, keep: [3], orSeek: FROM_START, from: 1 },
    ]);
  });

  it('handles an empty request', () => {
    expect(planDecode(idx, [], -1)).toEqual({ runs: [] });
  });
});

describe('FrameIndex', () => {
  it('derives duration, frame rate and times from timestamps', () => {
    const idx = new FrameIndex({
      pts: Float64Array.from([10, 10.04, 10.08, 10.12]),
      keyframe: Uint8Array.from([1, 0, 0, 0]),
      lastFrameDuration: 0.04,
    });
    expect(idx.startTime).toBe(10);
    expect(idx.duration).toBeCloseTo(0.16, 9);
    expect(idx.averageFrameRate).toBeCloseTo(25, 6);
    expect(idx.frameAtTime(0)).toBe(0);
    expect(idx.frameAtTime(0.04)).toBe(1);
    expect(idx.frameAtTime(0.079)).toBe(1);
    expect(idx.frameAtTime(0.16)).toBe(4); // the end
    expect(idx.isVariableFrameRate).toBe(false);
  });

  it('detects variable frame rate and maps time to the frame showing then', () => {
    const idx = new FrameIndex({
      pts: Float64Array.from([0, 0.02, 0.08, 0.1, 0.16]),
      keyframe: Uint8Array.from([1, 0, 0, 0, 0]),
      lastFrameDuration: 0.02,
    });
    expect(idx.isVariableFrameRate).toBe(true);
    expect(idx.frameAtTime(0.05)).toBe(1);
    expect(idx.frameAtTime(0.08)).toBe(2);
    expect(idx.averageFrameRate).toBeCloseTo(5 / 0.18, 6);
  });

  it('finds the keyframe at or before each frame', () => {
    const idx = index(30, 10);
    expect(idx.keyframeAtOrBefore(0)).toBe(0);
    expect(idx.keyframeAtOrBefore(19)).toBe(10);
    expect(idx.keyframeAtOrBefore(20)).toBe(20);
    expect(idx.keyframeCount).toBe(3);
  });

  it('rejects inconsistent data', () => {
    expect(() => new FrameIndex({ pts: new Float64Array(2), keyframe: new Uint8Array(1), lastFrameDuration: 0 })).toThrow();
  });
});
