/**
 * VideoLoaderPool: bounds how many loaders are open at once, per device. Decoding runs on libuv
 * worker threads (and NVDEC engines), so several loaders do decode in parallel; the pool keeps
 * that to what the machine has, e.g. `{ 'cuda:0': 2, cpu: 4 }`.
 *
 * Fair: callers are served strictly in arrival order; a caller is never overtaken by a later
 * one, whichever device frees up.
 *
 * Loaders are kept open between callers (up to the slots) and handed to the next caller for the
 * same file and options: opening builds the frame index by demuxing the whole file, which a
 * dataset of many clips from one long video should not repeat for every clip.
 */
import { formatDevice, parseDevice } from './device.js';
import { AbortedError, InvalidArgumentError, describeValue } from './errors.js';
import { rejectUnknownOptions } from './options.js';
import { VideoLoader, type VideoLoaderOptions } from './video-loader.js';

export interface VideoLoaderPoolOptions {
  /** Concurrent loaders per device, e.g. `{ cpu: 4 }` or `{ 'cuda:0': 2, cpu: 2 }`. Default `{ cpu: 1 }`. */
  slots?: Record<string, number>;
  /** Options for every loader the pool opens (`device` is set by the pool). */
  loaderOptions?: Omit<VideoLoaderOptions, 'device'>;
  /** Keep loaders open for the next caller of the same file (default true); `close()` frees them. */
  reuseLoaders?: boolean;
}

export interface WithLoaderOptions {
  /** Only this device (default: whichever device has a free slot first). */
  device?: string;
  /** Stops waiting for a slot (TVL_ABORTED); also passed to the loader's open. */
  signal?: AbortSignal;
  /** Per-call loader options, merged over the pool's. */
  loaderOptions?: Omit<VideoLoaderOptions, 'device'>;
}

interface IdleLoader {
  key: string;
  loader: VideoLoader;
}

interface Waiter {
  device?: string;
  grant: (device: string) => void;
}

export class VideoLoaderPool {
  private readonly capacity = new Map<string, number>();
  private readonly inUse = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  /** Open loaders no caller holds, per device, oldest first. Busy + idle never exceeds the slots. */
  private readonly idle = new Map<string, IdleLoader[]>();
  private peak = 0;
  private readonly loaderOptions: Omit<VideoLoaderOptions, 'device'>;
  private readonly reuse: boolean;

  constructor(options: VideoLoaderPoolOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(`VideoLoaderPool: expected an options object, got ${describeValue(options)}`);
    rejectUnknownOptions(options, ['slots', 'loaderOptions', 'reuseLoaders'], 'the options of VideoLoaderPool');
    const slots = options.slots ?? { cpu: 1 };
    if (slots === null || typeof slots !== 'object')
      throw new InvalidArgumentError(`VideoLoaderPool: expected slots like { cpu: 2 }, got ${describeValue(slots)}`);
    for (const [device, n] of Object.entries(slots)) {
      if (!Number.isInteger(n) || n < 1)
        throw new InvalidArgumentError(`slots['${device}'] must be a positive integer, got ${describeValue(n)}`);
      const key = formatDevice(parseDevice(device));
      this.capacity.set(key, n);
      this.inUse.set(key, 0);
      this.idle.set(key, []);
    }
    if (this.capacity.size === 0) throw new InvalidArgumentError('a pool needs at least one device with slots');
    this.loaderOptions = options.loaderOptions ?? {};
    this.reuse = options.reuseLoaders ?? true;
  }

  /** Slots per device, as configured. */
  get slots(): Record<string, number> {
    return Object.fromEntries(this.capacity);
  }
  /** Loaders open right now, per device. */
  get active(): Record<string, number> {
    return Object.fromEntries(this.inUse);
  }
  /** The most loaders ever open at once (all devices). */
  get peakActive(): number {
    return this.peak;
  }
  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Loaders kept open for reuse right now (all devices). */
  get idleLoaders(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /**
   * Waits for a free slot, opens `path` on that slot's device (or takes the loader the last
   * caller of the same file and options left open, rewound to frame 0), and runs `fn`. A loader
   * whose `fn` threw is closed; otherwise it is kept for the next caller (see `reuseLoaders`).
   */
  async withLoader<T>(path: string, fn: (loader: VideoLoader) => Promise<T> | T, options: WithLoaderOptions = {}): Promise<T> {
    if (typeof path !== 'string' || path.length === 0)
      throw new InvalidArgumentError(`withLoader: expected a file path, got ${describeValue(path)}`);
    if (typeof fn !== 'function')
      throw new InvalidArgumentError(`withLoader: expected a function to run with the loader, got ${describeValue(fn)}`);
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError(`withLoader: expected an options object, got ${describeValue(options)}`);
    rejectUnknownOptions(options, ['device', 'signal', 'loaderOptions'], 'the options of withLoader');
    const wanted = options.device === undefined ? undefined : formatDevice(parseDevice(options.device));
    if (wanted !== undefined && !this.capacity.has(wanted)) {
      throw new InvalidArgumentError(`the pool has no slots for device '${wanted}' (it has: ${[...this.capacity.keys()].join(', ')})`);
    }
    const device = await this.acquire(wanted, options.signal);
    try {
      const loaderOptions = { ...this.loaderOptions, ...options.loaderOptions };
      const key = JSON.stringify([path, loaderOptions]);
      const loader = this.takeIdle(device, key) ?? (await this.open(device, path, loaderOptions, options.signal));
      let keep = this.reuse;
      try {
        return await fn(loader);
      } catch (err) {
        keep = false;
        throw err;
      } finally {
        if (keep && !loader.isClosed) this.idle.get(device)!.push({ key, loader });
        else await loader.close();
      }
    } finally {
      this.release(device);
    }
  }

  /** Closes the loaders kept open for reuse. The pool stays usable. */
  async close(): Promise<void> {
    const all = [...this.idle.values()].flatMap((list) => list.splice(0));
    await Promise.all(all.map(({ loader }) => loader.close()));
  }

  private takeIdle(device: string, key: string): VideoLoader | undefined {
    const list = this.idle.get(device)!;
    const at = list.findIndex((e) => e.key === key);
    if (at < 0) return undefined;
    const [{ loader }] = list.splice(at, 1);
    loader.seekToFrame(0);
    return loader;
  }

  private async open(
    device: string,
    path: string,
    loaderOptions: Omit<VideoLoaderOptions, 'device'>,
    signal?: AbortSignal,
  ): Promise<VideoLoader> {
    // Room for one more open loader on the device: close the oldest idle ones first.
    const list = this.idle.get(device)!;
    const cap = this.capacity.get(device)!;
    while (list.length > 0 && (this.inUse.get(device) ?? 0) + list.length > cap) await list.shift()!.loader.close();
    return VideoLoader.open(path, { ...loaderOptions, device, signal });
  }

  private freeDevice(wanted?: string): string | undefined {
    for (const [device, cap] of this.capacity) {
      if ((wanted === undefined || wanted === device) && (this.inUse.get(device) ?? 0) < cap) return device;
    }
    return undefined;
  }

  private take(device: string): void {
    this.inUse.set(device, (this.inUse.get(device) ?? 0) + 1);
    let total = 0;
    for (const n of this.inUse.values()) total += n;
    this.peak = Math.max(this.peak, total);
  }

  private acquire(wanted: string | undefined, signal?: AbortSignal): Promise<string> {
    if (signal?.aborted) return Promise.reject(new AbortedError('Aborted while waiting for a loader slot', { cause: signal.reason }));
    // Only when nobody is queued: a newcomer never overtakes a waiter.
    const free = this.queue.length === 0 ? this.freeDevice(wanted) : undefined;
    if (free !== undefined) {
      this.take(free);
      return Promise.resolve(free);
    }
    return new Promise<string>((resolve, reject) => {
      const waiter: Waiter = {
        device: wanted,
        grant: (device) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(device);
        },
      };
      const onAbort = () => {
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(new AbortedError('Aborted while waiting for a loader slot', { cause: signal?.reason }));
        this.dispatch();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private release(device: string): void {
    this.inUse.set(device, (this.inUse.get(device) ?? 1) - 1);
    this.dispatch();
  }

  /** Grants free slots to waiters in arrival order. A waiter for a busy device holds its place. */
  private dispatch(): void {
    for (let i = 0; i < this.queue.length;) {
      const device = this.freeDevice(this.queue[i].device);
      if (device === undefined) {
        i++;
        continue;
      }
      const [waiter] = this.queue.splice(i, 1);
      this.take(device);
      waiter.grant(device);
    }
  }
}
