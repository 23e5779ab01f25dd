/** The addon's interface, and its loader (a prebuilt addon, or one built from source in the repository). */
import type { IndexMode } from '@tvl/core';
import { nativeAddonLoader, type NativeSession } from '@tvl/core/backend';

export interface NativeAddon {
  /** device: a CUDA ordinal, or -1 for the CPU path. */
  openVideo(
    path: string,
    options: { device: number; threads?: number; index?: IndexMode; cachedIndex?: Uint8Array; emulateNvdecSurface?: boolean },
    cancel: Int32Array,
  ): Promise<NativeSession>;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url, { packageName: '@tvl/nvvl', addonName: 'tvl_nvvl' });
