/**
 * VideoLoaderPool: bounds how many loaders are open at once, per device. Decoding runs on libuv
 * worker threads (and NVDEC engines), so several loaders do decode in parallel; the pool keeps
 * that to what the machine has, e.g. `{ 'cuda:0': 2, cpu: 4 }`.
 *
 * Fair: callers are served strictly in arrival order; a caller is never overtaken by a later
 * one, whichever device frees up.
 */
import { formatDevice, parseDevice } from './device.js';
import { AbortedError, InvalidArgumentError } from './errors.js';
import { VideoLoader, type VideoLoaderOptions } from './video-loader.js';

export interface VideoLoaderPoolOptions {
  /** Concurrent loaders per device, e.g. `{ cpu: 4 }` or `{ 'cuda:0': 2, cpu: 2 }`. Default `{ cpu: 1 }`. */
  slots?: Record<string, number>;
  /** Options for every loader the pool opens (`device` is set by the pool). */
  loaderOptions?: Omit<VideoLoaderOptions, 'device'>;
}

export interface WithLoaderOptions {
  /** Only this device (default: whichever device has a free slot first). */
  device?: string;
  /** Stops waiting for a slot (TVL_ABORTED); also passed to the loader's open. */
  signal?: AbortSignal;
  /** Per-call loader options, merged over the pool's. */
  loaderOptions?: Omit<VideoLoaderOptions, 'device'>;
}

interface Waiter {
  device?: string;
  grant: (device: string) => void;
}

export class VideoLoaderPool {
  private readonly capacity = new Map<string, number>();
  private readonly inUse = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  private peak = 0;
  private readonly loaderOptions: Omit<VideoLoaderOptions, 'device'>;

  constructor(options: VideoLoaderPoolOptions = {}) {
    for (const [device, n] of Object.entries(options.slots ?? { cpu: 1 })) {
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`slots['${device}'] must be a positive integer, got ${n}`);
      const key = formatDevice(parseDevice(device));
      this.capacity.set(key, n);
      this.inUse.set(key, 0);
    }
    if (this.capacity.size === 0) throw new InvalidArgumentError('a pool needs at least one device with slots');
    this.loaderOptions = options.loaderOptions ?? {};
  }

  /** Slots per device, as configured. */
  get slots(): Record<string, number> { return Object.fromEntries(this.capacity); }
  /** Loaders open right now, per device. */
  get active(): Record<string, number> { return Object.fromEntries(this.inUse); }
  /** The most loaders ever open at once (all devices). */
  get peakActive(): number { return this.peak; }
  /** Callers waiting for a slot. */
  get waiting(): number { return this.queue.length; }

  /**
   * Waits for a free slot, opens `path` on that slot's device, runs `fn`, and closes the loader
   * (also when `fn` throws) before the slot goes to the next caller.
   */
  async withLoader<T>(path: string, fn: (loader: VideoLoader) => Promise<T> | T, options: WithLoaderOptions = {}): Promise<T> {
    const wanted = options.device === undefined ? undefined : formatDevice(parseDevice(options.device));
    if (wanted !== undefined && !this.capacity.has(wanted)) {
      throw new InvalidArgumentError(`the pool has no slots for device '${wanted}' (it has: ${[...this.capacity.keys()].join(', ')})`);
    }
    const device = await this.acquire(wanted, options.signal);
    try {
      const loader = await VideoLoader.open(path, { ...this.loaderOptions, ...options.loaderOptions, device, signal: options.signal });
      try {
        return await fn(loader);
      } finally {
        await loader.close();
      }
    } finally {
      this.release(device);
    }
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
    for (let i = 0; i < this.queue.length; ) {
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
