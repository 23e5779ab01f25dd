/** Loads the prebuilt addon (or the one built from source) through node-gyp-build. */
import { nativeAddonLoader, type IndexMode, type NativeSession } from '@tvl/core';

export interface NativeAddon {
  openVideo(path: string, options: { colour?: string; index?: IndexMode; cachedIndex?: Uint8Array }, cancel: Int32Array): Promise<NativeSession>;
  opencvVersion: string;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url);
