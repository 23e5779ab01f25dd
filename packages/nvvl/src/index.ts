/**
 * @tvl/nvvl: NVVL-style sequence loading for training (see SequenceLoader), and a VideoLoader
 * backend named 'nvvl' for devices 'cuda' (FFmpeg's NVDEC hwaccel, frames stay on the GPU) and
 * 'cpu' (software decoding with the same conversion code). Importing this module registers both.
 */
import type { DeviceKind } from '@tvl/core';
import {
  NativeBackendVideo,
  registerBackend,
  withCancel,
  type BackendFactory,
  type BackendOpenOptions,
  type BackendVideo,
} from '@tvl/core/backend';
import { nvvlCostModel } from './cost-model.js';
import { emulatesNvdecSurface } from './emulate.js';
import { loadAddon } from './native.js';

export { SequenceLoader, loadSequences } from './sequence-loader.js';
export type { SequenceSpec, SequenceLoaderOptions, SequenceBatch, LoadOptions } from './sequence-loader.js';
export { resolveProcessing, augmentations, sequenceFrames } from './processing.js';
export type { SequenceProcessing, Augmentation, ResolvedProcessing } from './processing.js';

function nvvlBackend(device: DeviceKind): BackendFactory {
  return {
    name: 'nvvl',
    device,
    // On the CPU, nvvl runs its GPU maths in software: for checking them, not a CPU decoder to pick
    // by default (that is @tvl/libav, whatever was imported first).
    explicitOnly: device === 'cpu',
    async open(path: string, options: BackendOpenOptions): Promise<BackendVideo> {
      const emulateNvdecSurface = emulatesNvdecSurface(options.backendOptions);
      const native = await withCancel(options.signal, (cancel) =>
        loadAddon().openVideo(
          path,
          {
            device: device === 'cuda' ? options.device.ordinal : -1,
            threads: options.threads ?? 0,
            index: options.index,
            cachedIndex: options.cachedIndex,
            emulateNvdecSurface,
          },
          cancel,
        ),
      );
      return new NativeBackendVideo('nvvl', native, { fallbackCost: nvvlCostModel(device), fusesProcessing: true });
    },
  };
}

export const nvvlCudaBackend = nvvlBackend('cuda');
export const nvvlCpuBackend = nvvlBackend('cpu');
registerBackend(nvvlCudaBackend);
registerBackend(nvvlCpuBackend);
