/** Loads the prebuilt addon (or the one built from source) through node-gyp-build. */
import { nativeAddonLoader, type IndexMode, type NativeSession } from '@tvl/core';

export interface CudaDeviceInfo {
  ordinal: number;
  name: string;
  memoryBytes: number;
  /** e.g. '9.0' for an H100. */
  computeCapability: string;
}

export interface NativeAddon {
  openVideo(path: string, options: { device: number; index?: IndexMode; cachedIndex?: Uint8Array }, cancel: Int32Array): Promise<NativeSession>;
  probe(): Promise<{ driverVersion: number; devices: CudaDeviceInfo[] }>;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url);
