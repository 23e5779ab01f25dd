/**
 * Without a TensorFlow.js backend (no tfjs-node, no tfjs-backend-cpu imported), reading tensors
 * is a TvlError that says what to import; raw frames still work. (This file imports no backend.)
 */
import { VideoLoader, listBackends } from '@tvl/core';
import { registerBackend, unregisterBackend } from '@tvl/core/backend';
import { fakeBackend } from './fake-backend.js';

it('TVL_NO_TFJS_BACKEND names what to import; selectRawFrames needs no backend', async () => {
  registerBackend(fakeBackend('fake'));
  const vl = await VideoLoader.open('clip');
  try {
    await expect(vl.readFrame()).rejects.toMatchObject({
      code: 'TVL_NO_TFJS_BACKEND',
      message: expect.stringMatching(/import '@tensorflow\/tfjs-node'/),
    });
    expect((await vl.selectRawFrames([2]))[0].data[0]).toBe(2);
  } finally {
    await vl.close();
    for (const b of listBackends()) unregisterBackend(b.name);
  }
});
