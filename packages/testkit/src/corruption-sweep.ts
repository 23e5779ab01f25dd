/**
 * Corruption sweep, shared by every backend: many copies of a clip, each damaged differently
 * (seeded, so a failing copy can be made again and debugged), opened and read frame by frame.
 * Whatever the damage, every call must end in a frame or a typed error, never a crash, a hang,
 * an untyped or internal error. Where the damage leaves the container intact, a frame that comes
 * back must be the frame asked for: damaged pixels are allowed (not every damage is detectable),
 * a clean copy of another frame is not.
 *
 *   runCorruptionSweep({ backend: 'libav', device: 'cpu' });
 *
 * A native crash ends the jest worker, so the suite fails even then; the damaged copies stay in
 * testMediaDir() under the names the failures give.
 */
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom, TvlError, type TvlErrorCode, VideoLoader } from '@tvl/core';
import { sourceClip } from './bad-input.js';
import { cachedMedia, ffmpegRgbFrames, meanAbsDiff, runFfmpeg, videoPackets } from './media.js';

/**
 * - `packets`: bytes changed inside the video packets' payloads only; the container is intact.
 * - `headers`: bytes changed in the first 6 KB: container headers, sample tables, codec setup.
 * - `bursts`: runs of up to 300 equal bytes anywhere.
 */
export type DamageMode = 'packets' | 'headers' | 'bursts';

export interface CorruptionSweepOptions {
  backend: string;
  device: string;
  /** Damaged copies per container and mode (default 8). */
  copies?: number;
  /**
   * Times each copy with damaged packets is read (default 1). Races between decoding threads
   * and damage reporting show only in some runs: a frame-threaded backend reads them again.
   */
  packetPasses?: number;
  containers?: Array<'mp4' | 'mkv'>;
  modes?: DamageMode[];
  /**
   * Set (to the reason) for a backend that conceals damaged data instead of reporting it
   * (OpenCV): concealment may show a neighbouring frame's pixels, so the "never another frame"
   * check is skipped; the typed-errors-only check still applies.
   */
  concealsDamage?: string;
  /**
   * Mean absolute difference (0..255) under which a frame counts as the reference's picture
   * (default 1). Consecutive frames of the clip differ by more than 5; a backend whose colour
   * conversion differs a little from the ffmpeg CLI's (the GPU kernels: up to 2) needs more.
   */
  sameFrameTolerance?: number;
}

/** Errors a damaged file may give at open, and for a frame of it. */
const OPEN_CODES: TvlErrorCode[] = ['TVL_NOT_A_VIDEO', 'TVL_NO_VIDEO_STREAM', 'TVL_UNSUPPORTED_CODEC', 'TVL_CORRUPT_DATA'];
const FRAME_CODES: TvlErrorCode[] = ['TVL_CORRUPT_DATA', 'TVL_INEXACT_FRAME'];

/** The undamaged clip the sweep damages (bad-input's source clip, remuxed for mkv). */
export function sweepSource(container: 'mp4' | 'mkv'): string {
  const mp4 = sourceClip();
  return container === 'mp4' ? mp4 : cachedMedia('bad-input-source.mkv', (f) => runFfmpeg(['-i', mp4, '-c', 'copy', f]));
}

/** The `seed`-th damaged copy of `source` (made once, then reused). */
export function damagedCopy(source: string, mode: DamageMode, seed: number): string {
  return cachedMedia(`sweep-${mode}-${seed}-${path.basename(source)}`, (file) => {
    const rand = seededRandom(seed * 7919 + mode.length);
    const bytes = Buffer.from(fs.readFileSync(source));
    const changes = 1 + Math.floor(rand() * 12);
    const packets = mode === 'packets' ? videoPackets(source) : [];
    for (let k = 0; k < changes; k++) {
      if (mode === 'packets') {
        const { pos, size } = packets[Math.floor(rand() * packets.length)];
        bytes[pos + Math.floor(rand() * size)] ^= 1 + Math.floor(rand() * 255);
      } else if (mode === 'headers') {
        bytes[Math.floor(rand() * Math.min(bytes.length, 6000))] ^= 1 + Math.floor(rand() * 255);
      } else {
        const at = Math.floor(rand() * bytes.length);
        bytes.fill(Math.floor(rand() * 256), at, Math.min(bytes.length, at + 1 + Math.floor(rand() * 300)));
      }
    }
    fs.writeFileSync(file, bytes);
  });
}

/** meanAbsDiff < tolerance, deciding most pairs on every 97th byte first (a damaged frame is compared with every frame). */
function sameImage(a: Uint8Array, b: Uint8Array, tolerance: number): boolean {
  let sample = 0;
  let n = 0;
  for (let k = 0; k < a.length; k += 97, n++) sample += Math.abs(a[k] - b[k]);
  return sample / n < tolerance + 7 && meanAbsDiff(a, b) < tolerance;
}

function describeError(err: unknown): string {
  if (err instanceof TvlError) return `${err.code}${err.frameIndex === undefined ? '' : ` (frame ${err.frameIndex})`}: ${err.message}`;
  return `untyped ${String(err)}`;
}

/**
 * Opens and reads one damaged copy (every frame on its own in a seeded order, then one batch);
 * returns what broke the promises, empty when nothing did. `reference`, the undamaged clip's
 * frames, is for copies whose container is intact: it adds the "same frame count, never a clean
 * copy of another frame" checks (`tolerance`: see sameFrameTolerance). Used by the sweep here and
 * by bench/gpu-check.mjs.
 */
export async function checkDamagedCopy(
  file: string,
  open: (f: string) => Promise<VideoLoader>,
  seed: number,
  reference?: Uint8Array[],
  tolerance = 1,
): Promise<string[]> {
  const problems: string[] = [];
  const name = path.basename(file);
  let vl: VideoLoader;
  try {
    vl = await open(file);
  } catch (err) {
    if (!(err instanceof TvlError && OPEN_CODES.includes(err.code)) || reference) problems.push(`${name}: open: ${describeError(err)}`);
    return problems;
  }
  try {
    if (reference && vl.nFrames !== reference.length) problems.push(`${name}: ${vl.nFrames} frames, the container has ${reference.length}`);
    const rand = seededRandom(seed);
    const order = Array.from({ length: vl.nFrames }, (_, i) => i).sort(() => rand() - 0.5);
    for (const i of order) {
      try {
        const [frame] = await vl.selectRawFrames([i]);
        if (frame.report.index !== i) problems.push(`${name}: asked for frame ${i}, the report says ${frame.report.index}`);
        if (reference && meanAbsDiff(frame.data, reference[i]) >= tolerance) {
          const other = reference.findIndex((ref, j) => j !== i && sameImage(frame.data, ref, tolerance));
          if (other >= 0) problems.push(`${name}: frame ${i} came back as an undamaged copy of frame ${other}`);
        }
      } catch (err) {
        const typed = err instanceof TvlError && FRAME_CODES.includes(err.code) && err.frameIndex === i;
        if (!typed) problems.push(`${name}: frame ${i}: ${describeError(err)}`);
      }
    }
    // One batch across the file: the same rules, and the loader is still usable after errors.
    const batch = order.slice(0, 24);
    try {
      const frames = await vl.selectRawFrames(batch);
      frames.forEach((f, k) => {
        if (f.report.index !== batch[k]) problems.push(`${name}: batch slot ${k} is frame ${f.report.index}, not ${batch[k]}`);
      });
    } catch (err) {
      const typed = err instanceof TvlError && FRAME_CODES.includes(err.code) && batch.includes(err.frameIndex ?? -1);
      if (!typed) problems.push(`${name}: batch: ${describeError(err)}`);
    }
  } finally {
    await vl.close();
  }
  return problems;
}

export function runCorruptionSweep(options: CorruptionSweepOptions): void {
  const copies = options.copies ?? 8;
  const open = (file: string) => VideoLoader.open(file, { device: options.device, backend: options.backend });
  describe(`corruption sweep: ${options.backend} on ${options.device}`, () => {
    for (const container of options.containers ?? ['mp4', 'mkv']) {
      for (const mode of options.modes ?? (['packets', 'headers', 'bursts'] as DamageMode[])) {
        it(`${copies} ${container} copies with damaged ${mode}: frames or typed errors, never a crash or another frame`, async () => {
          const source = sweepSource(container);
          const reference = mode === 'packets' && options.concealsDamage === undefined ? ffmpegRgbFrames(source).frames : undefined;
          const problems: string[] = [];
          const passes = mode === 'packets' ? (options.packetPasses ?? 1) : 1;
          for (let seed = 1; seed <= copies; seed++) {
            for (let pass = 0; pass < passes; pass++) {
              problems.push(
                ...(await checkDamagedCopy(
                  damagedCopy(source, mode, seed),
                  open,
                  seed + 1000 * pass,
                  reference,
                  options.sameFrameTolerance,
                )),
              );
            }
          }
          expect(problems).toEqual([]);
        }, 300000); // every frame of 8 copies (x packetPasses), each after a seek: minutes on 2 cores
      }
    }
  });
}
