/**
 * Frame and batch memory used again (the `reuseMemory` option of BatchDataLoader, VideoLoader
 * and @tvl/nvvl's SequenceLoader).
 *
 * Every new batch buffer is a new ArrayBuffer, which V8 counts as external memory: about every
 * 32 MB of young ones it scavenges, and about every 64 MB it runs a full collection on the main
 * thread. At 19 MB a batch (8 clips of 16 frames at 112x112, float32) that is the largest share of
 * the main thread's time per batch. Handing out the same buffers again allocates nothing, so
 * there is nothing to collect.
 *
 * A buffer comes back once no tensor holds its data: the tfjs backend's reference count for it
 * (which clones and reshapes share) is zero. What it cannot see is an array that views the memory
 * without a tensor's reference (a `dataSync()` result kept, or on tfjs-backend-cpu a slice, which
 * is a view of the batch): that is why reuse is a choice the caller makes. Detaching the old
 * ArrayBuffer would empty such views, but only by making a new ArrayBuffer, which brings back the
 * collections this is for.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FrameBuffer, OutputDtype } from './backend.js';

const ARRAY_TYPES = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array } as const;

interface Lent {
  dataId: object;
  backend: tf.KernelBackend;
  buffer: FrameBuffer;
}

export interface BatchMemoryLimits {
  /** Buffers kept for reuse at most; more are left to the garbage collector. */
  buffers: number;
  /** Bytes kept for reuse at most (default: no limit beyond `buffers`). */
  bytes?: number;
}

export class BatchMemory {
  private readonly lent: Lent[] = [];
  private free: FrameBuffer[] = [];
  private freeBytes = 0;

  constructor(private readonly limits: BatchMemoryLimits) {}

  /** A buffer that came back, of `dtype` and `length` elements, if there is one. */
  take(dtype: OutputDtype, length: number): FrameBuffer | undefined {
    const fits = (b: FrameBuffer) => b instanceof ARRAY_TYPES[dtype] && b.length === length;
    let k = this.free.findIndex(fits);
    if (k < 0) {
      this.reclaim();
      k = this.free.findIndex(fits);
    }
    if (k < 0) return undefined;
    const [buffer] = this.free.splice(k, 1);
    this.freeBytes -= buffer.byteLength;
    return buffer;
  }

  /** `tensor`'s data is `buffer`: it comes back once no tensor holds that data. */
  lend(tensor: tf.Tensor, buffer: FrameBuffer): void {
    this.lent.push({ dataId: tensor.dataId, backend: tf.engine().backend, buffer });
    // Buffers the caller keeps (never disposes) are forgotten, not waited for.
    if (this.lent.length > 4 * this.limits.buffers) this.lent.shift();
  }

  /** Moves what no tensor holds any more from `lent` to `free` (in place: this runs per frame when streaming). */
  private reclaim(): void {
    const { buffers, bytes = Infinity } = this.limits;
    let kept = 0;
    for (const l of this.lent) {
      if (l.backend.refCount(l.dataId) > 0) {
        this.lent[kept++] = l;
      } else if (this.free.length < buffers && this.freeBytes + l.buffer.byteLength <= bytes) {
        this.free.push(l.buffer);
        this.freeBytes += l.buffer.byteLength;
      }
    }
    this.lent.length = kept;
  }
}
