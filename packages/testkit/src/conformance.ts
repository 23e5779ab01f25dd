/**
 * The backend conformance suite. A backend package runs it against itself from a jest test:
 *
 *   import { runConformanceSuite } from '@tvl/testkit';
 *   import '@tvl/libav';
 *   runConformanceSuite({ backend: 'libav', device: 'cpu' });
 *
 * Every clip carries its frame index in its pixels; every requested frame, in random order with
 * duplicates, across containers and codecs, must decode to exactly the right index.
 */
import fs from 'node:fs';
import path from 'node:path';
import { VideoLoader } from '@tvl/core';
import { checkRandomAccess, checkSeeks, checkSparseAccess, checkSequential, firstDecodable } from './checks.js';
import {
  ffmpegFrameCodes,
  ffmpegRgbFrames,
  makeIndexedClip,
  meanAbsDiff,
  readFrameCode,
  runFfmpeg,
  testMediaDir,
  type ClipSpec,
  type TestCodec,
} from './media.js';

/** FFmpeg's codec name for each kind of test clip: what VideoInfo.codec says. */
const CODEC_NAMES: Record<TestCodec, string> = {
  h264: 'h264',
  hevc: 'hevc',
  hevc10: 'hevc',
  vp9: 'vp9',
  'vp9-10bit': 'vp9',
  av1: 'av1',
  mpeg4: 'mpeg4',
  mjpeg: 'mjpeg',
};

export interface ConformanceCase {
  name: string;
  spec: ClipSpec;
  /** Derive the clip from the generated one (e.g. cut it), returning the new path. */
  derive?: (file: string) => string;
}

/** An mp4 cut with stream copy mid-GOP: its edit list hides the frames before the cut. */
function cutWithEditList(file: string): string {
  const out = path.join(testMediaDir(), `${path.basename(file, '.mp4')}-editlist.mp4`);
  if (!fs.existsSync(out)) runFfmpeg(['-ss', '1.3', '-i', file, '-c', 'copy', out]);
  return out;
}

/** Derives a clip once (cached next to its source, by `tag`), with the ffmpeg CLI. */
function derived(tag: string, ext: string, args: (src: string) => string[]): (file: string) => string {
  return (file) => {
    const out = path.join(testMediaDir(), `${path.basename(file, path.extname(file))}-${tag}.${ext}`);
    if (!fs.existsSync(out)) {
      const tmp = `${out}.tmp.${process.pid}.${ext}`;
      runFfmpeg([...args(file), tmp]);
      fs.renameSync(tmp, out);
    }
    return out;
  };
}

/**
 * Cut by stream copy at 0.5 s keeping the packets before the next keyframe (`-copyinkf`), as
 * cutting tools and broken recorders leave streams: the decoder never presents some of them.
 */
const cutBeforeKeyframe = (ext: string) =>
  derived('leading', ext, (src) => ['-i', src, '-ss', '0.5', '-c', 'copy', '-copyinkf', '-f', ext === 'mkv' ? 'matroska' : ext]);
/** The same stream, remuxed (no re-encoding) into another container. */
const remux = (tag: string, ext: string, ...opts: string[]) => derived(tag, ext, (src) => ['-i', src, '-c', 'copy', ...opts]);

export const CONFORMANCE_CASES: ConformanceCase[] = [
  { name: 'H.264 in MP4 with B-frames', spec: { codec: 'h264', container: 'mp4', bframes: 3 } },
  { name: 'H.264 in MKV with B-frames', spec: { codec: 'h264', container: 'mkv', bframes: 3 } },
  { name: 'H.264 long GOP (keyframe every 120)', spec: { codec: 'h264', container: 'mkv', frames: 150, gop: 120 } },
  { name: 'H.264 open GOP', spec: { codec: 'h264', container: 'mkv', frames: 80, gop: 16, bframes: 3, openGop: true } },
  { name: 'H.264 in MOV starting at 10 s', spec: { codec: 'h264', container: 'mov', startTime: 10 } },
  { name: 'H.264 with variable frame rate', spec: { codec: 'h264', container: 'mkv', vfr: true } },
  { name: 'H.264 in MP4 rotated 90 degrees', spec: { codec: 'h264', container: 'mp4', rotate: 90, width: 160, height: 96 } },
  { name: 'H.264 full range', spec: { codec: 'h264', container: 'mp4', fullRange: true } },
  {
    name: 'H.264 in MP4 with an edit list (cut mid-GOP)',
    spec: { codec: 'h264', container: 'mp4', frames: 80, gop: 20 },
    derive: cutWithEditList,
  },
  { name: 'HEVC 8-bit in MP4', spec: { codec: 'hevc', container: 'mp4' } },
  { name: 'HEVC in MKV with decoded-picture checksums (SEI)', spec: { codec: 'hevc', container: 'mkv', pictureHash: true } },
  { name: 'H.264 in MP4 with variable frame rate', spec: { codec: 'h264', container: 'mp4', vfr: true } },
  { name: 'HEVC 10-bit in MKV', spec: { codec: 'hevc10', container: 'mkv' } },
  { name: 'VP9 in WebM', spec: { codec: 'vp9', container: 'webm' } },
  { name: 'AV1 in MKV', spec: { codec: 'av1', container: 'mkv', frames: 40 } },
  { name: 'MPEG-4 part 2 in AVI', spec: { codec: 'mpeg4', container: 'avi', bframes: 0 } },
  // Shapes real files have that clips made here do not: see "How frames are numbered" in core's README.
  { name: 'MPEG-4 part 2 with B-frames in AVI (no pts)', spec: { codec: 'mpeg4', container: 'avi', bframes: 2 } },
  {
    name: 'H.264 in MKV starting with P- and B-frames before its first keyframe',
    spec: { codec: 'h264', container: 'mkv', frames: 90, gop: 30, bframes: 2 },
    derive: cutBeforeKeyframe('mkv'),
  },
  {
    name: 'H.264 in MP4 (edit list) whose first packet is not a keyframe',
    spec: { codec: 'h264', container: 'mp4', frames: 90, gop: 30, bframes: 2 },
    derive: cutBeforeKeyframe('mp4'),
  },
  {
    name: 'HEVC in MKV starting before its first keyframe',
    spec: { codec: 'hevc', container: 'mkv', frames: 90, gop: 30, bframes: 2 },
    derive: cutBeforeKeyframe('mkv'),
  },
  {
    name: 'raw H.264 elementary stream (.h264, no timestamps)',
    spec: { codec: 'h264', container: 'mkv', bframes: 2 },
    derive: remux('annexb', 'h264', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264'),
  },
  {
    name: 'raw HEVC elementary stream (.hevc, no timestamps)',
    spec: { codec: 'hevc', container: 'mkv', bframes: 2 },
    derive: remux('annexb', 'hevc', '-bsf:v', 'hevc_mp4toannexb', '-f', 'hevc'),
  },
  {
    name: 'H.264 with B-frames in MPEG-TS',
    spec: { codec: 'h264', container: 'mkv', bframes: 3 },
    derive: remux('ts', 'ts', '-f', 'mpegts'),
  },
  { name: 'MJPEG in AVI', spec: { codec: 'mjpeg', container: 'avi', frames: 30 } },
];

/**
 * Makes (or finds in the media cache) a case's clip, and the code of the frame it presents at each
 * index: the index itself for clips made here; for derived ones what the ffmpeg CLI presents (-1
 * where the CLI presents a picture it cannot decode).
 */
export function conformanceClip(c: ConformanceCase): { file: string; expected: number[] } {
  let file = makeIndexedClip(c.spec);
  if (c.derive) file = c.derive(file);
  const expected = c.derive ? ffmpegFrameCodes(file) : Array.from({ length: c.spec.frames ?? 60 }, (_, i) => i);
  return { file, expected };
}

export interface ConformanceOptions {
  backend: string;
  device: string;
  cases?: ConformanceCase[];
  /** More VideoLoader options for every open (e.g. backendOptions). */
  openOptions?: Record<string, unknown>;
  /**
   * Largest mean absolute difference (0..255) from the ffmpeg CLI's RGB (default 1). Backends
   * that convert colour in their own kernels, not swscale, state theirs.
   */
  cliTolerance?: number;
}

export function runConformanceSuite(options: ConformanceOptions): void {
  const cases = options.cases ?? CONFORMANCE_CASES;
  const open = (file: string, extra: Record<string, unknown> = {}) =>
    VideoLoader.open(file, { device: options.device, backend: options.backend, ...options.openOptions, ...extra });

  describe(`conformance: ${options.backend} on ${options.device}`, () => {
    describe.each(cases)('$name', (c) => {
      let file = '';
      let expected: number[] = [];
      // Frames the ffmpeg CLI presents but cannot decode (pictures before the first keyframe whose
      // references are gone, which FFmpeg's HEVC decoder still presents): TVL must name each one
      // in a TVL_CORRUPT_DATA error. `first` is the first frame after them.
      let damaged: number[] = [];
      let first = 0;
      beforeAll(() => {
        ({ file, expected } = conformanceClip(c));
        damaged = expected.flatMap((code, i) => (code < 0 ? [i] : []));
        first = firstDecodable(expected);
        if (damaged.some((i) => i >= first) || first > 15) throw new Error(`unexpected damaged frames in ${file}: ${damaged.join(', ')}`);
      });

      it('counts exactly the frames the file presents', async () => {
        const vl = await open(file);
        try {
          expect(vl.nFrames).toBe(expected.length);
          // The codec by its name, whichever backend (and decoder: libdav1d, nvdec, opencv) decodes it.
          expect(vl.info.codec).toBe(CODEC_NAMES[c.spec.codec]);
          expect(vl.info.decoder).not.toBe('');
          const rotated = c.spec.rotate === 90 || c.spec.rotate === 270;
          expect(vl.width).toBe(rotated ? (c.spec.height ?? 120) : (c.spec.width ?? 160));
          // (Damaged leading frames come with gaps in their timestamps: no constant rate to check.)
          if (!c.spec.vfr && damaged.length === 0) expect(vl.frameRate).toBeCloseTo(c.spec.fps ?? 25, 3);
        } finally {
          await vl.close();
        }
      });

      it('returns exactly every requested frame, in random order with duplicates', async () => {
        const vl = await open(file);
        try {
          for (const i of damaged) {
            await expect(vl.selectRawFrames([i])).rejects.toMatchObject({ code: 'TVL_CORRUPT_DATA', frameIndex: i });
          }
          expect(await checkRandomAccess(vl, expected, first)).toEqual([]);
        } finally {
          await vl.close();
        }
      });

      it('returns exactly a few frames far apart per call (seeks, pictures skipped on the way)', async () => {
        const vl = await open(file);
        try {
          expect(await checkSparseAccess(vl, expected, first)).toEqual([]);
        } finally {
          await vl.close();
        }
      });

      it('reads every frame sequentially, then ends with TVL_END_OF_VIDEO', async () => {
        const vl = await open(file, { dtype: 'int32' });
        try {
          expect(await checkSequential(vl, expected, first)).toEqual({ wrong: [], count: expected.length - first, ended: true });
        } finally {
          await vl.close();
        }
      });

      it('matches the ffmpeg CLI pixel for pixel (rotation, colour, range)', async () => {
        const cli = ffmpegRgbFrames(file, first + 3);
        const vl = await open(file);
        try {
          expect([vl.width, vl.height]).toEqual([cli.width, cli.height]);
          const ours = await vl.selectRawFrames([first, first + 1, first + 2]);
          ours.forEach((f, k) => expect(meanAbsDiff(f.data, cli.frames[first + k])).toBeLessThan(options.cliTolerance ?? 1));
        } finally {
          await vl.close();
        }
      });

      it('interleaves seeks and reads (seekToFrame, seek by time, readFrames)', async () => {
        const vl = await open(file, { layout: 'chw' });
        try {
          expect(await checkSeeks(vl, expected, first)).toEqual([]);
          const n = vl.nFrames;
          const code = (t: { dataSync(): ArrayLike<number>; shape: number[]; dispose(): void }) => {
            const v = readFrameCode(t.dataSync(), t.shape[2], t.shape[1], { layout: 'chw', rotation: vl.info.rotation });
            t.dispose();
            return v;
          };
          const mid = Math.floor(n / 3);
          vl.seek(vl.frameIndex.pts[mid] - vl.frameIndex.startTime);
          const batch = await vl.readFrames(3);
          expect(batch.map(code)).toEqual(expected.slice(mid, mid + 3));
        } finally {
          await vl.close();
        }
      });
    });
  });
}
