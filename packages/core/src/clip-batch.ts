/**
 * The one path by which a batch of clips (a file and frame indices each) becomes one
 * [B, T, H, W, C] (or [B, T, C, H, W]) tensor, used by VideoDataset (so BatchDataLoader) and by
 * @tvl/nvvl's SequenceLoader: loaders come from a VideoLoaderPool (open files kept between
 * batches, the fallback policy of VideoLoader.open), each file's clips are one native call per
 * processing that writes straight into their slots of one buffer, and every call is started
 * before `started` resolves, so the decoding goes on while the caller's thread is blocked. The
 * buffer is wrapped as the tensor without a copy.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FrameBuffer, FrameProcessing, OutputSpec } from './backend.js';
import type { BatchMemory } from './batch-memory.js';
import { formatDevice } from './device.js';
import { DatasetItemError, InvalidArgumentError, type TvlError } from './errors.js';
import { frameElementCount, frameShape, withoutTfjsBackend } from './output.js';
import type { VideoLoaderPool } from './pool.js';
import type { StartedBatch } from './prefetch.js';
import type { VideoLoader, VideoLoaderOptions } from './video-loader.js';

export interface ClipRequest {
  path: string;
  /** Frame indices in the order the clip holds them; every clip of a batch has as many. */
  frames: number[];
}

/** Output through a backend's fused processing (see FrameProcessing). */
export interface ProcessedOutput {
  spec: OutputSpec;
  processing: FrameProcessing;
}

export interface ClipBatchOptions {
  pool: VideoLoaderPool;
  loaderOptions?: Omit<VideoLoaderOptions, 'device' | 'signal'>;
  signal: AbortSignal;
  /** Names clip b (its path and frames) in errors. */
  describe: (b: number) => string;
  /** How errors name clip b: 'dataset item 7' (default: `dataset item ${b}`). */
  itemName?: (b: number) => { index: number; noun?: string };
  /**
   * Clip b's output, decided once its video is open (it may depend on the video's size): through
   * the backend's fused processing. Default: the loader's own output (outWidth, dtype, ...).
   */
  processed?: (b: number, loader: VideoLoader) => ProcessedOutput;
  /** Where the batch buffer comes from and goes back to; default: new memory from the first clip's backend. */
  memory?: BatchMemory;
}

/** What decoded each clip of a batch. */
export interface ClipSource {
  backend: string;
  /** 'cuda:0', or 'cpu' (also after a fallback). */
  device: string;
  /** Why a GPU asked for did not decode it (VideoLoader.fallbackReason). */
  fallbackReason?: string;
}

/** The batch, [B, T, ...frame], in the buffer the backends wrote into, and what decoded each clip. */
export type ClipBatchStart = StartedBatch<{ data: tf.Tensor; sources: ClipSource[] }>;

export function startClipBatch(clips: readonly ClipRequest[], options: ClipBatchOptions): ClipBatchStart {
  if (clips.length === 0) throw new InvalidArgumentError('a batch needs at least one clip (a batch of none has no shape)');
  const { signal, describe } = options;
  const length = clips[0].frames.length;
  const k = clips.findIndex((c) => c.frames.length !== length);
  if (k > 0) {
    throw new InvalidArgumentError(
      `a batch needs clips of one length, but ${describe(0)} has ${length} frames and ${describe(k)} has ${clips[k].frames.length}`,
    );
  }
  const itemError = (b: number, err: unknown): unknown => {
    if (signal.aborted || err instanceof DatasetItemError) return err;
    const { index, noun } = options.itemName?.(b) ?? { index: b };
    return new DatasetItemError(index, describe(b), err, noun);
  };
  // Batch positions by file.
  const byPath = new Map<string, number[]>();
  clips.forEach((c, b) => byPath.set(c.path, [...(byPath.get(c.path) ?? []), b]));
  let batch: { buffer: FrameBuffer; spec: OutputSpec; first: number } | undefined;
  const sources: ClipSource[] = new Array(clips.length);
  const calls: Promise<void>[] = [];
  const submitted = [...byPath].map(([path, positions]) =>
    options.pool
      .withLoader(
        path,
        (vl) => {
          // The clips of this file, by the processing they get: one native call each.
          const groups = new Map<string, { output?: ProcessedOutput; positions: number[] }>();
          for (const b of positions) {
            let output: ProcessedOutput | undefined;
            try {
              output = options.processed?.(b, vl);
            } catch (err) {
              throw itemError(b, err);
            }
            const key = output ? JSON.stringify(output) : '';
            const group = groups.get(key) ?? { output, positions: [] };
            group.positions.push(b);
            groups.set(key, group);
            sources[b] = { backend: vl.backend, device: formatDevice(vl.device) };
            if (vl.fallbackReason !== undefined) sources[b].fallbackReason = vl.fallbackReason;
          }
          for (const { output, positions: group } of groups.values()) {
            const spec: OutputSpec = output?.spec ?? { width: vl.outWidth, height: vl.outHeight, dtype: vl.dtype, layout: vl.layout };
            const frameCount = clips.length * length;
            batch ??= {
              buffer: options.memory?.take(spec.dtype, frameCount * frameElementCount(spec)) ?? vl.allocateOutput(frameCount, spec),
              spec,
              first: group[0],
            };
            const { buffer } = batch;
            if (!sameFrames(spec, batch.spec)) {
              throw itemError(
                group[0],
                new InvalidArgumentError(
                  `a batch needs frames of one size, but ${describe(batch.first)} gives ${batch.spec.width}x${batch.spec.height} ` +
                    `and ${describe(group[0])} gives ${spec.width}x${spec.height}: give every clip one output size ` +
                    '(outWidth and outHeight, or a resize)',
                ),
              );
            }
            const elements = frameElementCount(spec);
            // Frame t of the clip at batch position b goes to slot b * length + t.
            const slots = group.flatMap((b) => clips[b].frames.map((_, t) => b * length + t));
            const frames = group.flatMap((b) => clips[b].frames);
            const call = vl
              .decodeInto(frames, (j) => buffer.subarray(slots[j] * elements, (slots[j] + 1) * elements) as FrameBuffer, signal, output)
              .catch((err) => {
                // Name the clip whose frame failed.
                const at = frames.findIndex((f) => f === (err as TvlError)?.frameIndex);
                throw itemError(at >= 0 ? Math.floor(slots[at] / length) : group[0], err);
              });
            call.catch(() => undefined); // observed through `done`
            calls.push(call);
          }
          // Returned without waiting: the pool's slot is free again once the calls have started.
        },
        { signal, loaderOptions: options.loaderOptions },
      )
      // Opening the file failed: name its first clip.
      .catch((err) => {
        throw itemError(positions[0], err);
      }),
  );
  const started = Promise.all(submitted).then(() => undefined);
  const done = started.then(async () => {
    await Promise.all(calls);
    const { buffer, spec } = batch!;
    const data = wrapBuffer(buffer, [clips.length, length, ...frameShape(spec)], spec.dtype);
    options.memory?.lend(data, buffer);
    return { data, sources };
  });
  return { started, done };
}

function sameFrames(a: OutputSpec, b: OutputSpec): boolean {
  return a.width === b.width && a.height === b.height && a.dtype === b.dtype && a.layout === b.layout;
}

/** A buffer the backends filled, as a tensor of `shape` (no copy). */
function wrapBuffer(buffer: FrameBuffer, shape: number[], dtype: OutputSpec['dtype']): tf.Tensor {
  try {
    return tf.tensor(buffer as Float32Array | Int32Array, shape, dtype as 'float32' | 'int32');
  } catch (err) {
    throw withoutTfjsBackend(err);
  }
}
