/**
 * OpenCV converts YUV with BT.601 whatever the stream says. In 'stream' colour mode (the default)
 * @tvl/opencv corrects that to the stream's matrix and range; these tests measure how close it
 * then comes to @tvl/libav (swscale with the stream's colours), and that 'opencv' mode really
 * returns OpenCV's own colours. The figures are in the package README
 * (TVL_PRINT_COLOUR=1 prints them).
 */
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';
import { makeColourClip, psnr } from '@tvl/testkit';
import '@tvl/libav';
import '@tvl/opencv';

const FRAMES = [0, 5, 11];

async function frames(file: string, backend: string, backendOptions?: Record<string, unknown>) {
  const vl = await VideoLoader.open(file, { backend, backendOptions });
  try {
    const raw = await vl.selectRawFrames(FRAMES);
    return { info: vl.info, data: raw.map((f) => f.data) };
  } finally {
    await vl.close();
  }
}

const meanPsnr = (a: Uint8Array[], b: Uint8Array[]) => a.reduce((s, x, k) => s + psnr(x, b[k]), 0) / a.length;

// Minimum PSNR against @tvl/libav in 'stream' mode, in dB. Saturated test patterns sit outside
// the BT.601 gamut where the stream is BT.709; OpenCV clips those pixels to 0..255 before TVL sees
// them and the correction cannot bring back what was clipped.
const MIN_PSNR = { natural: 40, testsrc2: 24, smptebars: 30 } as const;

describe.each([
  ['natural', 'bt601', 'limited'],
  ['natural', 'bt709', 'limited'],
  ['natural', 'bt709', 'full'],
  ['natural', 'bt601', 'full'],
  ['testsrc2', 'bt709', 'limited'],
  ['smptebars', 'bt601', 'limited'],
  ['smptebars', 'bt709', 'limited'],
] as const)('%s, %s, %s range', (source, matrix, range) => {
  const file = () => makeColourClip(source, matrix, range);

  it(`'stream' colour mode reports the stream's colours and matches @tvl/libav (PSNR >= ${MIN_PSNR[source]} dB)`, async () => {
    const libav = await frames(file(), 'libav');
    const opencv = await frames(file(), 'opencv');
    expect(libav.info).toMatchObject({ colourMatrix: matrix, colourRange: range });
    expect(opencv.info).toMatchObject({ colourMatrix: matrix, colourRange: range, colourMatrixGuessed: false });
    expect(meanPsnr(opencv.data, libav.data)).toBeGreaterThanOrEqual(MIN_PSNR[source]);
  });

  it("'opencv' colour mode returns OpenCV's BT.601 conversion and says so", async () => {
    const libav = await frames(file(), 'libav');
    const stream = await frames(file(), 'opencv');
    const own = await frames(file(), 'opencv', { colour: 'opencv' });
    expect(own.info.colourMatrix).toBe('bt601');
    const ownPsnr = meanPsnr(own.data, libav.data);
    const streamPsnr = meanPsnr(stream.data, libav.data);
    if (matrix === 'bt601' && own.info.colourRange === range) {
      // OpenCV's assumption is right: both modes return the same pixels.
      expect(meanPsnr(own.data, stream.data)).toBe(Infinity);
    } else if (source === 'natural') {
      // Wrong matrix or range: clearly further from the true colours than the corrected output.
      expect(ownPsnr).toBeLessThan(streamPsnr - 10);
    }
    if (process.env.TVL_PRINT_COLOUR) {
      console.log(
        `${source} ${matrix} ${range}: stream ${streamPsnr.toFixed(1)} dB, opencv ${ownPsnr.toFixed(1)} dB (${own.info.colourRange})`,
      );
    }
  });
});

it('rejects an unknown colour mode with TVL_INVALID_ARGUMENT', async () => {
  await expect(
    // @ts-expect-error: not a colour mode (the types refuse it too)
    VideoLoader.open(makeColourClip('natural', 'bt601', 'limited'), { backend: 'opencv', backendOptions: { colour: 'bt709' } }),
  ).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
});
