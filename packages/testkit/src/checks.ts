/**
 * The checks behind the suites, as plain functions: jest suites assert that they find nothing,
 * and the GPU proof (bench/gpu-check.mjs, on a machine without jest or the ffmpeg CLI) records
 * what they find. Each reads frames through the public API and compares the code drawn into their
 * pixels (see media.ts) with the frame the file presents at that index.
 */
import type { RawFrame, VideoLoader } from '@tvl/core';
import { seededRandom } from '@tvl/core';
import { readFrameCode } from './media.js';

/** A frame that came back wrong: the index asked for, the code expected there and the code seen. */
export interface FrameMismatch {
  index: number;
  expected: number;
  got: number;
  /** What the frame's report said it was, when it did not say `index`. */
  reportedIndex?: number;
}

/**
 * The first frame after the undecodable ones a derived clip may start with (codes < 0: pictures
 * the ffmpeg CLI presents but cannot decode, which TVL must refuse by name).
 */
export function firstDecodable(expected: number[]): number {
  let first = 0;
  expected.forEach((code, i) => {
    if (code < 0) first = i + 1;
  });
  return first;
}

/** A shuffled request over all frames with some duplicates added. */
export function randomRequest(n: number, seed: number): number[] {
  const rand = seededRandom(seed);
  const req = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < Math.ceil(n / 4); i++) req.push(Math.floor(rand() * n));
  for (let i = req.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [req[i], req[j]] = [req[j], req[i]];
  }
  return req;
}

function rawCode(vl: VideoLoader, f: RawFrame): number {
  return readFrameCode(f.data, f.width, f.height, { rotation: vl.info.rotation });
}

function tensorCode(vl: VideoLoader, t: { dataSync(): ArrayLike<number>; shape: number[]; dispose(): void }): number {
  const chw = vl.layout === 'chw';
  const [height, width] = chw ? [t.shape[1], t.shape[2]] : [t.shape[0], t.shape[1]];
  const data = t.dataSync();
  const scale = vl.dtype === 'int32' ? 255 : 1;
  t.dispose();
  return readFrameCode(data, width, height, { rotation: vl.info.rotation, scale, layout: chw ? 'chw' : 'hwc' });
}

/**
 * Frames `first..n-1` in one call, shuffled with duplicates (seeded): each must show its code and
 * report its own index.
 */
export async function checkRandomAccess(vl: VideoLoader, expected: number[], first = 0, seed = 1234): Promise<FrameMismatch[]> {
  const request = randomRequest(vl.nFrames - first, seed).map((i) => i + first);
  const frames = await vl.selectRawFrames(request);
  const wrong: FrameMismatch[] = [];
  frames.forEach((f, k) => {
    const index = request[k];
    const got = rawCode(vl, f);
    if (got !== expected[index] || f.report.index !== index) {
      wrong.push({ index, expected: expected[index], got, ...(f.report.index !== index ? { reportedIndex: f.report.index } : {}) });
    }
  });
  return wrong;
}

/**
 * Few frames per call, far apart (seeded): plans that seek to keyframes and decode only up to each
 * wanted frame, where decoders may skip pictures nothing references. Every frame must show its code.
 */
export async function checkSparseAccess(vl: VideoLoader, expected: number[], first = 0, seed = 99): Promise<FrameMismatch[]> {
  const rand = seededRandom(seed);
  const span = vl.nFrames - first;
  const wrong: FrameMismatch[] = [];
  for (let call = 0; call < 6; call++) {
    const request = Array.from({ length: 1 + (call % 3) * 2 }, () => first + Math.floor(rand() * span));
    const frames = await vl.selectRawFrames(request);
    frames.forEach((f, k) => {
      const index = request[k];
      const got = rawCode(vl, f);
      if (got !== expected[index] || f.report.index !== index) wrong.push({ index, expected: expected[index], got });
    });
  }
  return wrong;
}

/** Every frame from `first` to the end with remainingFrames; `ended` when reading on is TVL_END_OF_VIDEO. */
export async function checkSequential(
  vl: VideoLoader,
  expected: number[],
  first = 0,
): Promise<{ wrong: FrameMismatch[]; count: number; ended: boolean }> {
  vl.seekToFrame(first);
  const wrong: FrameMismatch[] = [];
  let index = first;
  for await (const t of vl.remainingFrames()) {
    const got = tensorCode(vl, t);
    if (got !== expected[index]) wrong.push({ index, expected: expected[index], got });
    index++;
  }
  let ended = false;
  try {
    (await vl.readFrame()).dispose();
  } catch (err) {
    ended = (err as { code?: string }).code === 'TVL_END_OF_VIDEO';
  }
  return { wrong, count: index - first, ended };
}

/**
 * Single frames after seeks to scattered places (last, first, middle, its neighbour, ...): each
 * starts decoding afresh at a keyframe (open GOPs, recovery points, no in-band parameter sets).
 * Also checks the position moves past each frame read.
 */
export async function checkSeeks(vl: VideoLoader, expected: number[], first = 0): Promise<FrameMismatch[]> {
  const n = vl.nFrames;
  const wrong: FrameMismatch[] = [];
  for (const index of [n - 1, first, Math.floor(n / 2), Math.floor(n / 2) + 1, first + 3, n - 2, Math.floor(n / 3)]) {
    if (index < first || index >= n) continue;
    vl.seekToFrame(index);
    const got = tensorCode(vl, await vl.readFrame());
    if (got !== expected[index] || vl.position !== index + 1) wrong.push({ index, expected: expected[index], got });
  }
  return wrong;
}

/**
 * Requests every frame on its own: each must be right (`isRight` on its RGB24 bytes) or fail with
 * TVL_CORRUPT_DATA naming it. Anything else is a finding.
 */
export async function checkExactOrCorrupt(
  vl: VideoLoader,
  isRight: (rgb: Uint8Array, index: number) => boolean | Promise<boolean>,
): Promise<{ corrupt: number[]; wrong: number[]; otherErrors: string[] }> {
  const corrupt: number[] = [];
  const wrong: number[] = [];
  const otherErrors: string[] = [];
  for (let i = 0; i < vl.nFrames; i++) {
    try {
      const [f] = await vl.selectRawFrames([i]);
      if (!(await isRight(f.data, i))) wrong.push(i);
    } catch (err) {
      const e = err as { code?: string; frameIndex?: number; message?: string };
      if (e.code === 'TVL_CORRUPT_DATA' && e.frameIndex === i) corrupt.push(i);
      else otherErrors.push(`${i}: ${e.code ?? ''} ${e.message ?? err}`);
    }
  }
  return { corrupt, wrong, otherErrors };
}
