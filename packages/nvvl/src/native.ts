/** The addon's interface, and its loader (a prebuilt addon, or one built from source in the repository). */
import type { IndexMode } from '@tvl/core';
import { nativeAddonLoader, type DecodeRequest, type DecodeResult, type NativeSession } from '@tvl/core/backend';

/** What the native side fuses into the colour conversion (see processing.ts for the user-facing form). */
export interface NativeProcessing {
  resizeWidth: number;
  resizeHeight: number;
  cropX: number;
  cropY: number;
  flip: boolean;
  interpolation: 'bilinear' | 'nearest';
  colourSpace: 'rgb' | 'ycbcr';
  mean?: number[];
  std?: number[];
}

export interface NvvlNativeSession extends NativeSession {
  decode(
    plan: DecodeRequest['plan'],
    output: DecodeRequest['output'],
    buffers: DecodeRequest['buffers'],
    cancel: Int32Array,
    processing?: NativeProcessing,
  ): Promise<DecodeResult>;
}

export interface NativeAddon {
  /** device: a CUDA ordinal, or -1 for the CPU path. */
  openVideo(
    path: string,
    options: { device: number; threads?: number; index?: IndexMode; cachedIndex?: Uint8Array; emulateNvdecSurface?: boolean },
    cancel: Int32Array,
  ): Promise<NvvlNativeSession>;
  ffmpegVersion: string;
}

export const loadAddon = nativeAddonLoader<NativeAddon>(import.meta.url, { packageName: '@tvl/nvvl', addonName: 'tvl_nvvl' });
