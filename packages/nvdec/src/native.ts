/** The addon's interface, and its loader (a prebuilt addon, or one built from source in the repository). */
import type { IndexMode } from '@tvl/core';
import { nativeAddonLoader, type NativeSession } from '@tvl/core/backend';

export interface CudaDeviceInfo {
  ordinal: number;
  name: string;
  memoryBytes: number;
  /** e.g. '9.0' for an H100. */
  computeCapability: string;
}

export interface NativeAddon {
  openVideo(
    path: string,
    options: { device: number; index?: IndexMode; cachedIndex?: Uint8Array },
    cancel: Int32Array,
  ): Promise<NativeSession>;
  probe(): Promise<{ driverVersion: number; devices: CudaDeviceInfo[] }>;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url, { packageName: '@tvl/nvdec', addonName: 'tvl_nvdec' });
