/**
 * @tvl/opencv: a CPU backend over OpenCV's cv::VideoCapture. Importing this module registers
 * it with @tvl/core for device 'cpu' under the name 'opencv':
 *
 *   VideoLoader.open(path, { device: 'cpu', backend: 'opencv' })
 *
 * Backend options (`backendOptions`): `colour: 'stream'` (default) returns the stream's real
 * colours; `colour: 'opencv'` returns OpenCV's own conversion (BT.601 whatever the stream says).
 */
import { InvalidArgumentError, describeValue } from '@tvl/core';
import {
  NativeBackendVideo,
  registerBackend,
  withCancel,
  type BackendFactory,
  type BackendOpenOptions,
  type BackendVideo,
} from '@tvl/core/backend';
import { loadAddon } from './native.js';

export type OpencvColourMode = 'stream' | 'opencv';

declare module '@tvl/core' {
  interface BackendOptionsByName {
    opencv: OpencvBackendOptions;
  }
}

export interface OpencvBackendOptions {
  /** 'stream' (default): correct OpenCV's BT.601 output to the stream's matrix and range. 'opencv': as OpenCV returns it. */
  colour?: OpencvColourMode;
}

function colourOption(options: BackendOpenOptions): OpencvColourMode {
  const colour = (options.backendOptions as OpencvBackendOptions | undefined)?.colour ?? 'stream';
  if (colour !== 'stream' && colour !== 'opencv') {
    throw new InvalidArgumentError(`Expected backendOptions.colour to be 'stream' or 'opencv' but received ${describeValue(colour)}`);
  }
  return colour;
}

export const opencvBackend: BackendFactory = {
  name: 'opencv',
  device: 'cpu',
  backendOptionNames: ['colour'] satisfies Array<keyof OpencvBackendOptions>,
  async open(path: string, options: BackendOpenOptions): Promise<BackendVideo> {
    const colour = colourOption(options);
    const native = await withCancel(options.signal, (cancel) =>
      loadAddon().openVideo(path, { colour, index: options.index, cachedIndex: options.cachedIndex }, cancel),
    );
    // VideoCapture's own seek steps back 16 frames before its keyframe search, so a seek costs
    // more than with @tvl/libav; continuing through a few frames is usually cheaper.
    return new NativeBackendVideo('opencv', native, { fallbackCost: { seekCost: 20 } });
  },
};

/** The OpenCV version the addon runs against. */
export function opencvVersion(): string {
  return loadAddon().opencvVersion;
}

registerBackend(opencvBackend);
