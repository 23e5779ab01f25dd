/**
 * Bad input, shared by every backend: each case must give its typed error, never a crash, a hang
 * or a silently wrong frame.
 *
 *   runBadInputSuite({ backend: 'libav', device: 'cpu' });
 */
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom, VideoLoader } from '@tvl/core';
import { checkExactOrCorrupt } from './checks.js';
import {
  cachedMedia,
  ffmpegRgbFrames,
  makeIndexedClip,
  meanAbsDiff,
  readFrameCode,
  runFfmpeg,
  testMediaDir,
  videoPackets,
} from './media.js';

export interface BadInputOptions {
  backend: string;
  device: string;
  /**
   * Set (to the reason) for a backend whose decoder conceals damaged data instead of reporting
   * it (OpenCV's VideoCapture). The damaged-keyframe case then checks what such a backend can
   * still promise: every frame before the damaged GOP is exact, and nothing crashes or hangs.
   */
  concealsDamage?: string;
}

/** A natural-looking clip (testsrc2) with the index at the front of the file. */
export function sourceClip(): string {
  return cachedMedia('bad-input-source.mp4', (f) =>
    runFfmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25',
      '-frames:v',
      '100',
      '-c:v',
      'libx264',
      '-g',
      '25',
      '-bf',
      '2',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      f,
    ]),
  );
}

/**
 * sourceClip() with its middle keyframe damaged: garbage over its slice data, damage a decoder
 * can detect. (Damage that still parses as a valid bitstream cannot be told from content by any
 * decoder; see README.) `damagedKeyframe` counts keyframes from 0.
 */
export function damagedSourceClip(): { source: string; file: string; damagedKeyframe: number } {
  const source = sourceClip();
  const keyframes = videoPackets(source)
    .filter((p) => p.keyframe)
    .map((p) => p.pos);
  const damagedKeyframe = Math.floor(keyframes.length / 2);
  const file = cachedMedia('corrupt-middle.mp4', (f) => {
    const bytes = Buffer.from(fs.readFileSync(source));
    bytes.fill(0xff, keyframes[damagedKeyframe] + 8, keyframes[damagedKeyframe] + 400);
    fs.writeFileSync(f, bytes);
  });
  return { source, file, damagedKeyframe };
}

/**
 * A 300-frame MKV (frame numbers drawn in) with 4 KiB overwritten in the middle: the Matroska
 * demuxer loses a whole cluster (about 50 frames) there and resyncs. With `vfr`, frame intervals
 * alternate, so the timestamps cannot count what was lost.
 */
export function clipLosingPackets(vfr: boolean): string {
  const source = makeIndexedClip({ codec: 'h264', container: 'mkv', frames: 300, gop: 25, bframes: 2, width: 320, height: 240, vfr });
  return cachedMedia(`loses-packets-${vfr ? 'vfr' : 'cfr'}.mkv`, (f) => {
    const bytes = Buffer.from(fs.readFileSync(source));
    const at = Math.floor(bytes.length / 2);
    for (let i = 0; i < 4096; i++) bytes[at + i] = (i * 131 + 7) & 255;
    fs.writeFileSync(f, bytes);
  });
}

/**
 * A fragmented MP4 (one fragment per GOP) whose middle moof box is overwritten: FFmpeg's demuxer
 * stops there and reports a clean end, so only the frames before the hole exist.
 */
export function fragmentedMp4WithDamagedMoof(): string {
  const source = makeIndexedClip({ codec: 'h264', container: 'mkv', frames: 300, gop: 25, bframes: 2, width: 320, height: 240 });
  return cachedMedia('damaged-moof.mp4', (f) => {
    const fragmented = `${f}.fragmented.mp4`;
    runFfmpeg(['-i', source, '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov', fragmented]);
    const bytes = Buffer.from(fs.readFileSync(fragmented));
    fs.rmSync(fragmented);
    const moofs: number[] = [];
    for (let at = bytes.indexOf('moof'); at >= 0; at = bytes.indexOf('moof', at + 4)) moofs.push(at - 4);
    const at = moofs[Math.floor(moofs.length / 2)];
    for (let i = 0; i < 64; i++) bytes[at + i] = (i * 131 + 7) & 255;
    fs.writeFileSync(f, bytes);
  });
}

/** Every frame on its own equals the reference or is TVL_CORRUPT_DATA naming it; returns those. */
async function framesExactOrCorrupt(vl: VideoLoader, reference: Uint8Array[]): Promise<number[]> {
  const found = await checkExactOrCorrupt(vl, (rgb, i) => meanAbsDiff(rgb, reference[i]) < 1);
  expect({ wrong: found.wrong, otherErrors: found.otherErrors }).toEqual({ wrong: [], otherErrors: [] });
  return found.corrupt;
}

export function runBadInputSuite(options: BadInputOptions): void {
  const open = (file: string) => VideoLoader.open(file, { device: options.device, backend: options.backend });
  const expectOpenError = async (file: string, code: string) => {
    await expect(open(file)).rejects.toMatchObject({ code });
  };

  describe(`bad input: ${options.backend} on ${options.device}`, () => {
    it('missing file -> TVL_FILE_NOT_FOUND', async () => {
      await expectOpenError(path.join(testMediaDir(), 'does-not-exist.mp4'), 'TVL_FILE_NOT_FOUND');
    });

    it('empty file -> TVL_NOT_A_VIDEO', async () => {
      await expectOpenError(
        cachedMedia('empty.mp4', (f) => fs.writeFileSync(f, '')),
        'TVL_NOT_A_VIDEO',
      );
    });

    it('a directory -> TVL_NOT_A_VIDEO', async () => {
      await expectOpenError(testMediaDir(), 'TVL_NOT_A_VIDEO');
    });

    it('random bytes -> TVL_NOT_A_VIDEO', async () => {
      const rand = seededRandom(7);
      const file = cachedMedia('random.mp4', (f) =>
        fs.writeFileSync(
          f,
          Uint8Array.from({ length: 65536 }, () => Math.floor(rand() * 256)),
        ),
      );
      await expectOpenError(file, 'TVL_NOT_A_VIDEO');
    });

    it('a text file -> TVL_NOT_A_VIDEO', async () => {
      await expectOpenError(
        cachedMedia('notes.txt', (f) => fs.writeFileSync(f, 'this is not a video\n'.repeat(100))),
        'TVL_NOT_A_VIDEO',
      );
    });

    it('audio only -> TVL_NO_VIDEO_STREAM', async () => {
      const file = cachedMedia('audio-only.m4a', (f) =>
        runFfmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', f]),
      );
      await expectOpenError(file, 'TVL_NO_VIDEO_STREAM');
    });

    it('truncated video: the frames present decode exactly, the cut frame is TVL_CORRUPT_DATA', async () => {
      const source = sourceClip();
      const file = cachedMedia('truncated.mp4', (f) => {
        const bytes = fs.readFileSync(source);
        fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
      });
      const reference = ffmpegRgbFrames(source);
      const vl = await open(file);
      try {
        expect(vl.nFrames).toBeLessThan(reference.frames.length);
        expect(vl.frameIndex.truncated).toBe(true);
        const errors = await framesExactOrCorrupt(vl, reference.frames);
        // Only the frame cut in half (and frames depending on it) may fail: the tail of the file.
        expect(errors.every((i) => i >= vl.nFrames - 3)).toBe(true);
        await expect(vl.selectFrame(vl.nFrames)).rejects.toMatchObject({ code: 'TVL_INDEX_OUT_OF_RANGE' });
      } finally {
        await vl.close();
      }
    });

    if (options.concealsDamage === undefined) {
      it('damaged keyframe mid-file: every frame is exact or TVL_CORRUPT_DATA naming it, never a wrong frame', async () => {
        const { source, file } = damagedSourceClip();
        const reference = ffmpegRgbFrames(source);
        const vl = await open(file);
        try {
          const failed = (await framesExactOrCorrupt(vl, reference.frames)).length;
          expect(failed).toBeGreaterThan(0);
          expect(failed).toBeLessThan(vl.nFrames / 2);
          // Sequential reading stops with the same typed error.
          await expect(
            (async () => {
              for await (const t of vl.remainingFrames()) t.dispose();
            })(),
          ).rejects.toMatchObject({ code: 'TVL_CORRUPT_DATA' });
        } finally {
          await vl.close();
        }
      });
    } else {
      it(`damaged keyframe mid-file (backend conceals damage: ${options.concealsDamage}): frames before it are exact, no crash or hang`, async () => {
        const { source, file, damagedKeyframe } = damagedSourceClip();
        const reference = ffmpegRgbFrames(source);
        const vl = await open(file);
        try {
          // The n-th keyframe in decode order is the n-th in presentation order.
          const keyIndices = Array.from(vl.frameIndex.keyframe.entries())
            .filter(([, k]) => k)
            .map(([i]) => i);
          const firstDamaged = keyIndices[damagedKeyframe];
          const before = Array.from({ length: firstDamaged }, (_, i) => firstDamaged - 1 - i);
          const frames = await vl.selectRawFrames(before);
          frames.forEach((f, k) => expect(meanAbsDiff(f.data, reference.frames[before[k]])).toBeLessThan(1));
          // Every frame still comes back (concealed) or fails with a typed error.
          for (let i = firstDamaged; i < vl.nFrames; i++) {
            await vl.selectRawFrames([i]).catch((err) => expect(err).toHaveProperty('code'));
          }
        } finally {
          await vl.close();
        }
      });
    }

    it('out-of-range and non-integer indices', async () => {
      const vl = await open(sourceClip());
      try {
        for (const i of [-1, vl.nFrames, 1e9]) {
          await expect(vl.selectFrame(i)).rejects.toMatchObject({ code: 'TVL_INDEX_OUT_OF_RANGE', frameIndex: i });
        }
        for (const i of [1.5, Number.NaN, Infinity, '3' as unknown as number]) {
          await expect(vl.selectRawFrames([0, i])).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
        }
        expect(() => vl.seekToFrame(vl.nFrames)).toThrow(expect.objectContaining({ code: 'TVL_INDEX_OUT_OF_RANGE' }));
        expect(() => vl.seek(-1)).toThrow(expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }));
        // The loader still works after rejected requests.
        expect((await vl.selectRawFrames([5]))[0].report.index).toBe(5);
      } finally {
        await vl.close();
      }
    });

    it('use after close -> TVL_CLOSED; close twice is fine', async () => {
      const vl = await open(sourceClip());
      await vl.close();
      await vl.close();
      await expect(vl.readFrame()).rejects.toMatchObject({ code: 'TVL_CLOSED' });
      await expect(vl.selectRawFrames([0])).rejects.toMatchObject({ code: 'TVL_CLOSED' });
      expect(() => vl.seek(0)).toThrow(expect.objectContaining({ code: 'TVL_CLOSED' }));
    });

    it('close while a decode is in flight waits for it, then frees', async () => {
      const vl = await open(sourceClip());
      const pending = vl.selectRawFrames([90, 10, 60]);
      const closing = vl.close();
      await expect(pending).resolves.toHaveLength(3);
      await closing;
      await expect(vl.selectFrame(0)).rejects.toMatchObject({ code: 'TVL_CLOSED' });
    });

    describe('a damaged container that loses packets mid-file', () => {
      // Frame i draws i into its pixels: a delivered frame must read as its own number.
      const readAll = async (vl: VideoLoader) => {
        const delivered: number[] = [];
        const failed: number[] = [];
        for (let i = 0; i < vl.nFrames; i++) {
          try {
            const [f] = await vl.selectRawFrames([i]);
            expect(readFrameCode(f.data, f.width, f.height)).toBe(i);
            delivered.push(i);
          } catch (err) {
            expect(err).toMatchObject({ code: 'TVL_CORRUPT_DATA', frameIndex: i });
            failed.push(i);
          }
        }
        return { delivered, failed };
      };

      it('constant frame rate: lost frames keep their numbers (TVL_CORRUPT_DATA), every later frame is exact', async () => {
        const vl = await open(clipLosingPackets(false));
        try {
          expect(vl.nFrames).toBe(300); // ffprobe -count_frames says 247: the hole renumbers everything after it
          expect(vl.frameIndex.demuxErrors).toBeGreaterThan(0);
          const { delivered, failed } = await readAll(vl);
          expect(failed.length).toBeGreaterThanOrEqual(50);
          // Numbered by their timestamps across the hole (the GOP right after it may be damaged too).
          expect(delivered.filter((i) => i >= 225).length).toBe(75);
          expect(Math.min(...failed)).toBeGreaterThan(100);
        } finally {
          await vl.close();
        }
      });

      it('a fragmented MP4 whose demuxer stops at a damaged moof: the index says the file is truncated, the frames before are exact', async () => {
        const vl = await open(fragmentedMp4WithDamagedMoof());
        try {
          expect(vl.frameIndex.truncated).toBe(true);
          expect(vl.frameIndex.truncatedReason).toMatch(/demuxing stopped at byte \d+ of \d+/);
          expect(vl.nFrames).toBeGreaterThan(100);
          expect(vl.nFrames).toBeLessThan(300);
          const { delivered } = await readAll(vl);
          expect(delivered.length).toBeGreaterThan(100);
        } finally {
          await vl.close();
        }
      });

      it('variable frame rate: frames after the hole cannot be numbered and are TVL_CORRUPT_DATA, never a neighbour', async () => {
        const vl = await open(clipLosingPackets(true));
        try {
          const { delivered, failed } = await readAll(vl);
          expect(delivered.length).toBeGreaterThan(100);
          const firstFailed = Math.min(...failed);
          expect(failed).toEqual(Array.from({ length: vl.nFrames - firstFailed }, (_, k) => firstFailed + k));
          await expect(vl.selectRawFrames([vl.nFrames - 1])).rejects.toThrow(/cannot be identified exactly/);
        } finally {
          await vl.close();
        }
      });
    });

    it('an AbortSignal cancels a long native call with TVL_ABORTED; the loader keeps working', async () => {
      const vl = await open(sourceClip());
      try {
        const already = AbortSignal.abort();
        await expect(vl.selectRawFrames([1], { signal: already })).rejects.toMatchObject({ code: 'TVL_ABORTED' });
        const controller = new AbortController();
        // Every frame, each needing its own seek: long enough to be cut short.
        const request = Array.from({ length: 100 }, (_, k) => 99 - k);
        const pending = vl.selectRawFrames(request, { signal: controller.signal });
        setImmediate(() => controller.abort());
        await expect(pending).rejects.toMatchObject({ code: 'TVL_ABORTED' });
        expect((await vl.selectRawFrames([42]))[0].report.index).toBe(42);
      } finally {
        await vl.close();
      }
    });
  });
}
