/**
 * The Python TVL's backend tests, re-made on its sample videos (../shared/fixtures/tvl, or
 * TVL_FIXTURES). A backend package runs them with runFixtureSuite({ backend, device }); they are
 * skipped, with a note, where the checkout has no fixtures. Reference JPEGs allow for JPEG noise
 * and for the colour matrix guess on untagged HD video (TVL: BT.709; the references were made
 * with BT.601).
 */
import path from 'node:path';
import { VideoLoader, type VideoLoaderOptions } from '@tvl/core';
import { decodeImageRgb, meanAbsDiff, tvlFixturesDir } from './media.js';

const dir = tvlFixturesDir();
const JPEG_TOLERANCE = 4; // mean absolute difference, 0..255

const fixture = (name: string) => path.join(dir ?? '', name);
const toBytes = (data: ArrayLike<number>) => Uint8Array.from(data, (v) => Math.round(v * 255));

export interface FixtureOptions {
  backend: string;
  device: string;
}

export function runFixtureSuite(options: FixtureOptions): void {
  const describeFixtures = dir ? describe : describe.skip;
  if (!dir) console.warn(`TVL fixtures not found (set TVL_FIXTURES): skipping the Python TVL sample tests for ${options.backend}`);
  const open = (file: string, extra: VideoLoaderOptions = {}) =>
    VideoLoader.open(fixture(file), { device: options.device, backend: options.backend, ...extra });

  describeFixtures(`${options.backend} on the Python TVL sample videos`, () => {
    let vl: VideoLoader;
    beforeEach(async () => {
      vl = await open('board_game-h264.mkv');
    });
    afterEach(() => vl.close());

    it('reads board_game metadata', () => {
      expect(vl.width).toBe(1280);
      expect(vl.height).toBe(720);
      expect(vl.nFrames).toBe(50);
      expect(vl.frameRate).toBeCloseTo(25, 6);
      expect(vl.duration).toBeCloseTo(2.0, 6);
      expect(vl.backend).toBe(options.backend);
      expect(vl.info.codec).toBe('h264');
      expect(vl.info.colourMatrixGuessed).toBe(true);
    });

    it('first frame and frame 25 match the reference JPEGs', async () => {
      const first = await vl.readFrame();
      expect(first.shape).toEqual([720, 1280, 3]);
      expect(first.dtype).toBe('float32');
      expect(meanAbsDiff(toBytes(first.dataSync()), decodeImageRgb(fixture('board_game_first.jpg')))).toBeLessThan(JPEG_TOLERANCE);
      const mid = await vl.selectFrame(25);
      expect(meanAbsDiff(toBytes(mid.dataSync()), decodeImageRgb(fixture('board_game_mid.jpg')))).toBeLessThan(JPEG_TOLERANCE);
      first.dispose();
      mid.dispose();
    });

    it('seek(1.0) then read gives frame 25', async () => {
      vl.seek(1.0);
      expect(vl.position).toBe(25);
      const frame = await vl.readFrame();
      expect(meanAbsDiff(toBytes(frame.dataSync()), decodeImageRgb(fixture('board_game_mid.jpg')))).toBeLessThan(JPEG_TOLERANCE);
      frame.dispose();
    });

    it('seek(2.0) then read is the end of the video', async () => {
      vl.seek(2.0);
      await expect(vl.readFrame()).rejects.toMatchObject({ code: 'TVL_END_OF_VIDEO', name: 'EndOfVideoError' });
    });

    it('reads all 50 frames', async () => {
      const frames = await vl.readAllFrames();
      expect(frames).toHaveLength(50);
      frames.forEach((f) => f.dispose());
    });

    it('selectFrames([25, 27, 29]) in order', async () => {
      const raw = await vl.selectRawFrames([25, 27, 29]);
      expect(raw.map((f) => f.report.index)).toEqual([25, 27, 29]);
      expect(raw.map((f) => f.report.pts)).toEqual([1.0, 1.08, 1.16]);
      expect(meanAbsDiff(raw[0].data, decodeImageRgb(fixture('board_game_mid.jpg')))).toBeLessThan(JPEG_TOLERANCE);
      const tensors = [];
      for await (const t of vl.selectFrames([25, 27, 29])) tensors.push(t);
      expect(tensors).toHaveLength(3);
      tensors.forEach((t, k) => expect(meanAbsDiff(toBytes(t.dataSync()), raw[k].data)).toBeLessThan(0.01));
      tensors.forEach((t) => t.dispose());
    });

    it('resizes to 160x90 in the decoder', async () => {
      const small = await open('board_game-h264.mkv', { outWidth: 160, outHeight: 90 });
      try {
        expect([small.outWidth, small.outHeight]).toEqual([160, 90]);
        const frame = await small.selectFrame(0);
        expect(frame.shape).toEqual([90, 160, 3]);
        const reference = decodeImageRgb(fixture('board_game_first.jpg'), { width: 160, height: 90 });
        expect(meanAbsDiff(toBytes(frame.dataSync()), reference)).toBeLessThan(JPEG_TOLERANCE + 2);
        frame.dispose();
      } finally {
        await small.close();
      }
    });

    it('swimming (4K) frame 9 and diving frame 7 match their JPEGs', async () => {
      for (const [file, index, jpeg] of [
        ['swimming-h264.mp4', 9, 'swimming_mid.jpg'],
        ['diving-h264.mkv', 7, 'diving_frame07.jpg'],
      ] as const) {
        const other = await open(file);
        try {
          const [frame] = await other.selectRawFrames([index]);
          expect(meanAbsDiff(frame.data, decodeImageRgb(fixture(jpeg)))).toBeLessThan(JPEG_TOLERANCE);
        } finally {
          await other.close();
        }
      }
    });

    it('the cropped board_game (52x28) matches its JPEG', async () => {
      const cropped = await open('board_game-h264-cropped.mkv');
      try {
        expect([cropped.width, cropped.height, cropped.nFrames]).toEqual([52, 28, 50]);
        const [frame] = await cropped.selectRawFrames([0]);
        // At 52x28 the JPEG's and the video's 4:2:0 chroma each blur a large share of the pixels.
        expect(meanAbsDiff(frame.data, decodeImageRgb(fixture('board_game_first-cropped.jpg')))).toBeLessThan(8);
      } finally {
        await cropped.close();
      }
    });
  });
}
