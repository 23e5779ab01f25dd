/**
 * Where VideoCapture's own positioning is wrong, @tvl/opencv must still be exact: on a variable
 * frame rate clip, CAP_PROP_POS_FRAMES lands on a later frame than asked (its frame numbers come
 * from time x nominal fps), and TVL notices from the timestamp and steps back.
 */
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';
import { makeIndexedClip, readFrameCode } from '@tvl/testkit';
import '@tvl/opencv';

it('every frame of a VFR clip, each requested alone and out of order, is exact', async () => {
  const file = makeIndexedClip({ codec: 'h264', container: 'mkv', vfr: true, frames: 60, gop: 12 });
  const vl = await VideoLoader.open(file, { backend: 'opencv' });
  try {
    expect(vl.frameIndex.isVariableFrameRate).toBe(true);
    for (const i of [59, 31, 36, 0, 47, 1, 58, 24, 12, 13]) {
      const [f] = await vl.selectRawFrames([i]);
      expect(readFrameCode(f.data, f.width, f.height)).toBe(i);
      expect(f.report.backend).toBe('opencv');
    }
  } finally {
    await vl.close();
  }
});

it('resizes and converts dtype/layout like the other backends', async () => {
  const file = makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 30, width: 320, height: 240 });
  const vl = await VideoLoader.open(file, { backend: 'opencv', outWidth: 160, dtype: 'int32', layout: 'chw' });
  try {
    expect([vl.outWidth, vl.outHeight]).toEqual([160, 120]);
    const t = await vl.selectFrame(17);
    expect(t.shape).toEqual([3, 120, 160]);
    expect(readFrameCode(t.dataSync(), 160, 120, { layout: 'chw', scale: 255 })).toBe(17);
    t.dispose();
  } finally {
    await vl.close();
  }
});
