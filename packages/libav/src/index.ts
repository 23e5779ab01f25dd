/**
 * @tvl/libav: the CPU backend over FFmpeg. Importing this module registers it with @tvl/core
 * for device 'cpu' under the name 'libav'.
 */
import {
  AbortedError, registerBackend,
  type BackendFactory, type BackendOpenOptions, type BackendSession, type DecodeRequest, type DecodeResult,
} from '@tvl/core';
import { loadAddon, type NativeSession } from './native.js';

/** Runs a native call with a cancel cell that an AbortSignal flips; the native side polls it. */
async function withCancel<T>(signal: AbortSignal | undefined, call: (cancel: Int32Array) => Promise<T>): Promise<T> {
  const cancel = new Int32Array(1);
  if (!signal) return call(cancel);
  if (signal.aborted) throw new AbortedError('Aborted before decoding started', { cause: signal.reason });
  const onAbort = () => Atomics.store(cancel, 0, 1);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await call(cancel);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

class LibavSession implements BackendSession {
  readonly backend = 'libav';
  readonly costModel = { seekCost: 6 };
  constructor(private readonly native: NativeSession) {}

  get info() { return this.native.info; }
  get index() { return this.native.index; }

  decode(request: DecodeRequest): Promise<DecodeResult> {
    return withCancel(request.signal, (cancel) =>
      this.native.decode(request.plan, request.output, request.buffers, cancel));
  }

  close(): Promise<void> {
    return this.native.close();
  }
}

export const libavBackend: BackendFactory = {
  name: 'libav',
  device: 'cpu',
  async open(path: string, options: BackendOpenOptions): Promise<BackendSession> {
    const native = await withCancel(options.signal, (cancel) =>
      loadAddon().openVideo(path, { threads: options.threads ?? 0 }, cancel));
    return new LibavSession(native);
  },
};

/** The FFmpeg version the addon runs against. */
export function ffmpegVersion(): string {
  return loadAddon().ffmpegVersion;
}

registerBackend(libavBackend);
