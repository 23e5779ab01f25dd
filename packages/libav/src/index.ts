/**
 * @tvl/libav: the CPU backend over FFmpeg. Importing this module registers it with @tvl/core
 * for device 'cpu' under the name 'libav'.
 */
import {
  NativeBackendVideo,
  booleanOption,
  registerBackend,
  withCancel,
  type BackendFactory,
  type BackendOpenOptions,
  type BackendVideo,
} from '@tvl/core/backend';
import { loadAddon } from './native.js';

declare module '@tvl/core' {
  interface BackendOptionsByName {
    libav: LibavBackendOptions;
  }
}

/** @tvl/libav's `backendOptions` (typed here, checked at run time; any other name is refused). */
export interface LibavBackendOptions {
  /**
   * Let the decoder drop the pictures nothing references (H.264/HEVC non-reference B-frames) on
   * the way to a wanted frame: random access decodes about a third fewer frames. Off by default:
   * in a damaged file, a reference picture whose damage makes it claim to be unreferenced is then
   * dropped unseen, and a later frame can come back concealed (silently wrong) instead of as
   * TVL_CORRUPT_DATA. Turn it on for files you trust (your own encodes, or verified: `tvl verify`).
   */
  skipUnreferenced?: boolean;
}

function skipUnreferencedOption(options: BackendOpenOptions): boolean {
  return booleanOption((options.backendOptions as LibavBackendOptions | undefined)?.skipUnreferenced, 'backendOptions.skipUnreferenced');
}

export const libavBackend: BackendFactory = {
  name: 'libav',
  device: 'cpu',
  backendOptionNames: ['skipUnreferenced'] satisfies Array<keyof LibavBackendOptions>,
  async open(path: string, options: BackendOpenOptions): Promise<BackendVideo> {
    const skipUnreferenced = skipUnreferencedOption(options);
    const native = await withCancel(options.signal, (cancel) =>
      loadAddon().openVideo(
        path,
        {
          threads: options.threads ?? 0,
          index: options.index,
          cachedIndex: options.cachedIndex,
          skipUnreferenced,
          cacheFrames: options.cacheFrames ?? 0,
        },
        cancel,
      ),
    );
    return new NativeBackendVideo('libav', native); // the addon reports its decoder's seek cost
  },
};

/** The FFmpeg version the addon runs against. */
export function ffmpegVersion(): string {
  return loadAddon().ffmpegVersion;
}

registerBackend(libavBackend);
