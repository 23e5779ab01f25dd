/**
 * The backend that decodes 'cpu' when none is named does not depend on import order: @tvl/nvvl
 * imported first still leaves the CPU to @tvl/libav, for plain opens and for `fallback: 'cpu'`
 * (unless `fallbackBackend` names nvvl).
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tvl/nvvl';
import '@tvl/libav';
import { VideoLoader } from '@tvl/core';
import { makeIndexedClip } from '@tvl/testkit';

describe('default CPU backend with @tvl/nvvl imported first', () => {
  const file = makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 10 });

  it("device 'cpu' decodes with libav", async () => {
    const vl = await VideoLoader.open(file, { device: 'cpu' });
    await vl.close();
    expect(vl.backend).toBe('libav');
  });

  it("nvvl's fallback to the CPU decodes with libav, as the README says", async () => {
    // No NVIDIA driver on the machines this runs on: nvvl on 'cuda' falls back.
    const vl = await VideoLoader.open(file, { device: 'cuda', backend: 'nvvl', fallback: 'cpu' });
    await vl.close();
    expect([vl.backend, vl.device.kind]).toEqual(['libav', 'cpu']);
    expect(vl.fallbackReason).toMatch(/TVL_NO_CUDA_DEVICE/);
  });

  it("fallbackBackend: 'nvvl' keeps nvvl's own CPU path (what SequenceLoader's fallback uses)", async () => {
    const vl = await VideoLoader.open(file, { device: 'cuda', backend: 'nvvl', fallback: 'cpu', fallbackBackend: 'nvvl' });
    await vl.close();
    expect([vl.backend, vl.device.kind]).toEqual(['nvvl', 'cpu']);
    expect(vl.fallbackReason).toMatch(/TVL_NO_CUDA_DEVICE/);
  });

  it("nvvl's CPU path decodes when named", async () => {
    const vl = await VideoLoader.open(file, { device: 'cpu', backend: 'nvvl' });
    await vl.close();
    expect(vl.backend).toBe('nvvl');
  });
});
