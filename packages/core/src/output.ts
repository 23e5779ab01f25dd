/** Output shapes, buffers and tensor wrapping. Pixels are produced natively; tfjs only wraps them. */
import * as tf from '@tensorflow/tfjs-core';
import type { FrameBuffer, OutputDtype, OutputLayout, OutputSpec, VideoInfo } from './backend.js';
import { InvalidArgumentError, NoTfjsBackendError, describeValue } from './errors.js';

export type TensorDtype = 'float32' | 'int32';

function checkDimension(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > 16384)) {
    throw new InvalidArgumentError(`Expected ${name} to be a positive integer up to 16384 but received ${describeValue(v)}`);
  }
}

/** Output size from the options; when only one side is given the other keeps the aspect ratio. */
export function resolveOutputSize(
  info: Pick<VideoInfo, 'width' | 'height'>,
  outWidth?: number,
  outHeight?: number,
): { width: number; height: number } {
  checkDimension('outWidth', outWidth);
  checkDimension('outHeight', outHeight);
  if (outWidth !== undefined && outHeight !== undefined) return { width: outWidth, height: outHeight };
  if (outWidth !== undefined) return { width: outWidth, height: Math.max(1, Math.round((outWidth * info.height) / info.width)) };
  if (outHeight !== undefined) return { width: Math.max(1, Math.round((outHeight * info.width) / info.height)), height: outHeight };
  return { width: info.width, height: info.height };
}

export function frameElementCount(spec: OutputSpec): number {
  return spec.width * spec.height * 3;
}

/** An uninitialised ArrayBuffer of exactly `bytes` (unpooled: offset 0, nothing else in it). */
export function allocateUninitialised(bytes: number): ArrayBuffer {
  return Buffer.allocUnsafeSlow(bytes).buffer;
}

/**
 * A buffer for `frames` frames (one by default), back to back, from `allocate` (the backend's
 * memory: BackendVideo.allocate). Backends overwrite every byte, so the memory is not zero-filled
 * first (zeroing a 1080p float32 frame is 25 MB of writes per frame for nothing).
 */
export function allocateFrameBuffer(
  spec: OutputSpec,
  frames = 1,
  allocate: (bytes: number) => ArrayBuffer = allocateUninitialised,
): FrameBuffer {
  const n = frameElementCount(spec) * frames;
  const bytes = allocate(bytesPerFrame(spec) * frames);
  switch (spec.dtype) {
    case 'float32':
      return new Float32Array(bytes, 0, n);
    case 'int32':
      return new Int32Array(bytes, 0, n);
    case 'uint8':
      return new Uint8Array(bytes, 0, n);
  }
}

export function bytesPerFrame(spec: OutputSpec): number {
  const bytes: Record<OutputDtype, number> = { float32: 4, int32: 4, uint8: 1 };
  return frameElementCount(spec) * bytes[spec.dtype];
}

export function frameShape(spec: OutputSpec): [number, number, number] {
  return spec.layout === 'chw' ? [3, spec.height, spec.width] : [spec.height, spec.width, 3];
}

/** Wraps a filled buffer as a tensor without copying or converting it. */
export function bufferToTensor(buffer: FrameBuffer, spec: OutputSpec): tf.Tensor3D {
  if (spec.dtype === 'uint8') throw new InvalidArgumentError("dtype 'uint8' is for raw frames; tensors are 'float32' or 'int32'");
  try {
    return tf.tensor3d(buffer as Float32Array | Int32Array, frameShape(spec), spec.dtype);
  } catch (err) {
    throw withoutTfjsBackend(err);
  }
}

/**
 * `err` from tfjs, or TVL_NO_TFJS_BACKEND saying what to import when the cause is that tfjs has
 * no backend to hold tensors (its own message for that names no package).
 */
export function withoutTfjsBackend(err: unknown): unknown {
  let hasBackend = true;
  try {
    hasBackend = tf.engine().backend !== undefined;
  } catch {
    hasBackend = false;
  }
  if (hasBackend) return err;
  return new NoTfjsBackendError(
    'TensorFlow.js has no backend registered, so frames cannot become tensors: import one first ' +
      "(import '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu' or '@tensorflow/tfjs-backend-cpu'), " +
      'or read raw frames with selectRawFrames',
    { cause: err },
  );
}

export function checkDtype(dtype: unknown): TensorDtype {
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw new InvalidArgumentError(`Expected dtype 'float32' or 'int32' but received ${describeValue(dtype)}`);
  }
  return dtype;
}

export function checkLayout(layout: unknown): OutputLayout {
  if (layout !== 'hwc' && layout !== 'chw') {
    throw new InvalidArgumentError(`Expected layout 'hwc' or 'chw' but received ${describeValue(layout)}`);
  }
  return layout;
}
