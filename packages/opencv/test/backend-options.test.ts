/**
 * @tvl/opencv's backendOptions are typed (its package declares them to @tvl/core) and checked:
 * a misspelt name is a compile error under `make lint` and TVL_INVALID_ARGUMENT at run time.
 */
import '@tensorflow/tfjs-backend-cpu';
import { VideoLoader } from '@tvl/core';
import { makeIndexedClip } from '@tvl/testkit';
import '@tvl/opencv';

const file = makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 10 });

it("accepts its own options, typed: colour 'stream' | 'opencv'", async () => {
  const vl = await VideoLoader.open(file, { backend: 'opencv', backendOptions: { colour: 'opencv' } });
  await vl.close();
  expect(vl.backend).toBe('opencv');
});

it('refuses a misspelt option at compile time and at run time, naming the one meant', async () => {
  // @ts-expect-error: 'colur' is not an option of the opencv backend
  const open = VideoLoader.open(file, { backend: 'opencv', backendOptions: { colur: 'opencv' } });
  await expect(open).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT', message: expect.stringMatching(/did you mean 'colour'/) });
  // @ts-expect-error: colour takes 'stream' or 'opencv'
  const wrong = VideoLoader.open(file, { backend: 'opencv', backendOptions: { colour: 'bt709' } });
  await expect(wrong).rejects.toMatchObject({ code: 'TVL_INVALID_ARGUMENT' });
});
