/**
 * A backend with no native code, for core's own tests: frame i of a file is filled with the
 * value i (plus 100 x the number in the file's name, if any), so pixels say which frame of which
 * file came back. A path containing 'missing' fails to open with TVL_FILE_NOT_FOUND.
 */
import type { DeviceKind } from '@tvl/core';
import { FROM_CACHE, type BackendFactory, type BackendVideo, type DecodeRequest } from '@tvl/core/backend';

export interface FakeBackendOptions {
  device?: DeviceKind;
  /** Milliseconds each decode call takes (a timer, like a worker thread would). */
  decodeMs?: number;
  nFrames?: number;
  /** What the backend says it delivered for the kept frames of a plan (default: exactly those). */
  deliver?: (kept: number[]) => number[];
  /** Videos open right now, the most ever open at once, and (if present) how many were opened in all. */
  stats?: { open: number; peak: number; opened?: number };
  /** Takes DecodeRequest.processing (and records it in the request, like every request). */
  fusesProcessing?: boolean;
  /** Keeps the last this many frames it delivered (not those from the cache) and reports them as `cached`. */
  cacheFrames?: number;
}

export function fakeBackend(name: string, calls: DecodeRequest[] = [], options: FakeBackendOptions = {}): BackendFactory {
  const n = options.nFrames ?? 10;
  return {
    name,
    device: options.device ?? 'cpu',
    async open(path: string): Promise<BackendVideo> {
      if (path.includes('missing')) throw Object.assign(new Error(`No such file: '${path}'`), { code: 'TVL_FILE_NOT_FOUND' });
      const base = 100 * Number(/(\d+)/.exec(path)?.[1] ?? 0);
      let closed = false;
      let cached: number[] = [];
      let position = -1;
      if (options.stats) {
        options.stats.open++;
        options.stats.peak = Math.max(options.stats.peak, options.stats.open);
        if (options.stats.opened !== undefined) options.stats.opened++;
      }
      return {
        backend: name,
        fusesProcessing: options.fusesProcessing ?? false,
        info: {
          width: 4,
          height: 2,
          codec: 'fake',
          decoder: 'fake',
          profile: '',
          pixelFormat: 'rgb24',
          bitDepth: 8,
          colourMatrix: 'bt709',
          colourRange: 'limited',
          colourMatrixGuessed: false,
          rotation: 0,
          container: 'fake',
        },
        index: {
          pts: Float64Array.from({ length: n }, (_, i) => i / 10),
          keyframe: Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 : 0)),
          lastFrameDuration: 0.1,
        },
        async decode(req) {
          if (closed) throw Object.assign(new Error('closed'), { code: 'TVL_CLOSED' });
          calls.push(req);
          if (options.decodeMs) await new Promise((r) => setTimeout(r, options.decodeMs));
          const order = req.plan.runs.flatMap((r) => r.keep);
          for (const r of req.plan.runs) {
            if (r.start !== FROM_CACHE) continue;
            const missing = r.keep.find((idx) => !cached.includes(idx));
            if (missing !== undefined) throw Object.assign(new Error(`frame ${missing} is not cached`), { code: 'TVL_INTERNAL' });
          }
          order.forEach((idx, k) => req.buffers[k].fill(req.output.dtype === 'float32' ? (base + idx) / 255 : base + idx));
          const decoded = req.plan.runs.filter((r) => r.start !== FROM_CACHE).flatMap((r) => r.keep);
          if (options.cacheFrames) cached = [...cached.filter((f) => !decoded.includes(f)), ...decoded].slice(-options.cacheFrames);
          return {
            framesDecoded: order.length,
            seeks: req.plan.runs.length,
            position: (position = decoded.length > 0 ? decoded[decoded.length - 1] : position),
            continuable: true,
            delivered: options.deliver?.(order) ?? order,
            cached: [...cached].sort((a, b) => a - b),
          };
        },
        async close() {
          if (!closed && options.stats) options.stats.open--;
          closed = true;
        },
      };
    },
  };
}
