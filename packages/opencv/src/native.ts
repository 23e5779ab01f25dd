/** The addon's interface, and its loader (a prebuilt addon, or one built from source in the repository). */
import type { IndexMode } from '@tvl/core';
import { nativeAddonLoader, type NativeSession } from '@tvl/core/backend';

export interface NativeAddon {
  openVideo(
    path: string,
    options: { colour?: string; index?: IndexMode; cachedIndex?: Uint8Array },
    cancel: Int32Array,
  ): Promise<NativeSession>;
  opencvVersion: string;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url, {
  packageName: '@tvl/opencv',
  addonName: 'tvl_opencv',
  systemLibrariesHint:
    "@tvl/opencv decodes with the system's OpenCV: install its videoio library (Debian 11: libopencv-videoio4.5, Debian 12: libopencv-videoio406, Debian 13: libopencv-videoio410).",
});
