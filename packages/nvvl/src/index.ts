/**
 * @tvl/nvvl: NVVL-style sequence loading for training (see SequenceLoader), and a VideoLoader
 * backend named 'nvvl' for devices 'cuda' (FFmpeg's NVDEC hwaccel, frames stay on the GPU) and
 * 'cpu' (software decoding with the same conversion code). Importing this module registers both.
 */
import {
  NativeBackendSession, registerBackend, withCancel,
  type BackendFactory, type BackendOpenOptions, type BackendSession, type DeviceKind,
} from '@tvl/core';
import { loadAddon } from './native.js';

export { SequenceLoader, loadSequences } from './sequence-loader.js';
export type { SequenceSpec, SequenceLoaderOptions, SequenceBatch, LoadOptions } from './sequence-loader.js';
export { resolveProcessing, augmentations, sequenceFrames } from './processing.js';
export type { SequenceProcessing, Augmentation, ResolvedProcessing } from './processing.js';

function nvvlBackend(device: DeviceKind): BackendFactory {
  return {
    name: 'nvvl',
    device,
    async open(path: string, options: BackendOpenOptions): Promise<BackendSession> {
      const emulateNvdecSurface = options.backendOptions?.emulateNvdecSurface === true;
      const native = await withCancel(options.signal, (cancel) => loadAddon().openVideo(path, {
        device: device === 'cuda' ? options.device.ordinal : -1, threads: options.threads ?? 0, index: options.index, cachedIndex: options.cachedIndex, emulateNvdecSurface,
      }, cancel));
      return new NativeBackendSession('nvvl', native, { seekCost: device === 'cuda' ? 4 : 6 });
    },
  };
}

export const nvvlCudaBackend = nvvlBackend('cuda');
export const nvvlCpuBackend = nvvlBackend('cpu');
registerBackend(nvvlCudaBackend);
registerBackend(nvvlCpuBackend);
