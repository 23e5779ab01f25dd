/** The addon's interface, and its loader (a prebuilt addon, or one built from source in the repository). */
import type { IndexMode } from '@tvl/core';
import { nativeAddonLoader, type NativeSession } from '@tvl/core/backend';

export interface NativeAddon {
  openVideo(
    path: string,
    options: { threads?: number; index?: IndexMode; cachedIndex?: Uint8Array; skipUnreferenced?: boolean; cacheFrames?: number },
    cancel: Int32Array,
  ): Promise<NativeSession>;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url, { packageName: '@tvl/libav', addonName: 'tvl_libav' });
