/**
 * @tvl/libav: the CPU backend over FFmpeg. Importing this module registers it with @tvl/core
 * for device 'cpu' under the name 'libav'.
 */
import {
  NativeBackendVideo,
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

/** @tvl/libav reads no `backendOptions`: any name given is refused (typed here, checked at run time). */
export type LibavBackendOptions = Record<string, never>;

export const libavBackend: BackendFactory = {
  name: 'libav',
  device: 'cpu',
  async open(path: string, options: BackendOpenOptions): Promise<BackendVideo> {
    const native = await withCancel(options.signal, (cancel) =>
      loadAddon().openVideo(path, { threads: options.threads ?? 0, index: options.index, cachedIndex: options.cachedIndex }, cancel),
    );
    return new NativeBackendVideo('libav', native); // the addon reports its decoder's seek cost
  },
};

/** The FFmpeg version the addon runs against. */
export function ffmpegVersion(): string {
  return loadAddon().ffmpegVersion;
}

registerBackend(libavBackend);
