/**
 * @tvl/nvdec: the GPU backend over NVIDIA's hardware decoder (NVDEC). Importing this module
 * registers it with @tvl/core for device 'cuda' (and 'cuda:N') under the name 'nvdec'.
 *
 * The addon loads on any Linux machine: the CUDA driver and NVDEC library are opened at run
 * time, so without a driver or GPU `open` fails with TVL_NO_CUDA_DEVICE (or, with
 * `fallback: 'cpu'`, decodes with @tvl/libav and says so).
 */
import { fromNativeError } from '@tvl/core';
import {
  NativeBackendVideo,
  registerBackend,
  withCancel,
  type BackendFactory,
  type BackendOpenOptions,
  type BackendVideo,
} from '@tvl/core/backend';
import { loadAddon, type CudaDeviceInfo } from './native.js';

export type { CudaDeviceInfo } from './native.js';

declare module '@tvl/core' {
  interface BackendOptionsByName {
    nvdec: NvdecBackendOptions;
  }
}

/** @tvl/nvdec reads no `backendOptions`: any name given is refused (typed here, checked at run time). */
export type NvdecBackendOptions = Record<string, never>;

export const nvdecBackend: BackendFactory = {
  name: 'nvdec',
  device: 'cuda',
  async open(path: string, options: BackendOpenOptions): Promise<BackendVideo> {
    const native = await withCancel(options.signal, (cancel) =>
      loadAddon().openVideo(path, { device: options.device.ordinal, index: options.index, cachedIndex: options.cachedIndex }, cancel),
    );
    // A seek costs the GPU about what decoding a few frames does (the parser restarts, NVDEC does not).
    return new NativeBackendVideo('nvdec', native, { fallbackCost: { seekCost: 4 } });
  },
};

export interface CudaStatus {
  /** True when the driver loads and reports at least one GPU. */
  available: boolean;
  /** Why not, when not (the same message `open` would give). */
  reason?: string;
  /** e.g. 13000 for CUDA 13.0; 0 when unavailable. */
  driverVersion: number;
  devices: CudaDeviceInfo[];
}

/** What this machine offers for 'cuda' devices; never throws for a missing driver or GPU. */
export async function cudaStatus(): Promise<CudaStatus> {
  try {
    const { driverVersion, devices } = await loadAddon().probe();
    return { available: devices.length > 0, driverVersion, devices };
  } catch (err) {
    const e = fromNativeError(err);
    if (e.code !== 'TVL_NO_CUDA_DEVICE') throw e;
    return { available: false, reason: e.message, driverVersion: 0, devices: [] };
  }
}

registerBackend(nvdecBackend);
