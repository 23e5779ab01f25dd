/**
 * Typed errors. Every error TVL throws is a `TvlError` with a stable `code`, so callers can
 * branch on `err.code` (or `instanceof`) instead of parsing messages. Native addons throw plain
 * Errors carrying one of these codes; `fromNativeError` turns them into the matching class.
 */

export type TvlErrorCode =
  | 'TVL_FILE_NOT_FOUND'
  | 'TVL_NOT_A_VIDEO'
  | 'TVL_NO_VIDEO_STREAM'
  | 'TVL_UNSUPPORTED_CODEC'
  | 'TVL_CORRUPT_DATA'
  | 'TVL_INEXACT_FRAME'
  | 'TVL_INDEX_OUT_OF_RANGE'
  | 'TVL_END_OF_VIDEO'
  | 'TVL_NO_BACKEND'
  | 'TVL_NO_CUDA_DEVICE'
  | 'TVL_CLOSED'
  | 'TVL_INVALID_ARGUMENT'
  | 'TVL_ABORTED'
  | 'TVL_IO_ERROR'
  | 'TVL_NATIVE_LOAD_FAILED'
  | 'TVL_NO_TFJS_BACKEND'
  | 'TVL_INTERNAL';

export interface TvlErrorDetails {
  /** The video the error is about, when there is one. */
  path?: string;
  /** The presentation-order frame index the error is about, when there is one. */
  frameIndex?: number;
  cause?: unknown;
}

export class TvlError extends Error {
  readonly code: TvlErrorCode;
  readonly path?: string;
  readonly frameIndex?: number;

  constructor(code: TvlErrorCode, message: string, details: TvlErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    if (details.path !== undefined) this.path = details.path;
    if (details.frameIndex !== undefined) this.frameIndex = details.frameIndex;
  }
}

export class FileNotFoundError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_FILE_NOT_FOUND', message, details);
  }
}
export class NotAVideoError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_NOT_A_VIDEO', message, details);
  }
}
export class NoVideoStreamError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_NO_VIDEO_STREAM', message, details);
  }
}
export class UnsupportedCodecError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_UNSUPPORTED_CODEC', message, details);
  }
}
/** Corrupt or truncated data: `frameIndex` names the frame that could not be decoded exactly. */
export class CorruptDataError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_CORRUPT_DATA', message, details);
  }
}
/**
 * The backend could not make sure it delivers exactly this frame (e.g. OpenCV reported a
 * timestamp that is no frame of the index). The file may be fine: another backend may read it.
 */
export class InexactFrameError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_INEXACT_FRAME', message, details);
  }
}
export class IndexOutOfRangeError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_INDEX_OUT_OF_RANGE', message, details);
  }
}
/** Reading past the last frame (the Python TVL's EOFError). */
export class EndOfVideoError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_END_OF_VIDEO', message, details);
  }
}
export class NoBackendError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_NO_BACKEND', message, details);
  }
}
export class NoCudaDeviceError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_NO_CUDA_DEVICE', message, details);
  }
}
export class LoaderClosedError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_CLOSED', message, details);
  }
}
export class InvalidArgumentError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_INVALID_ARGUMENT', message, details);
  }
}
export class AbortedError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_ABORTED', message, details);
  }
}
export class IoError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_IO_ERROR', message, details);
  }
}

/** A backend's native addon could not be loaded on this system (no prebuild fits, or a library it needs is missing). */
export class NativeLoadError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_NATIVE_LOAD_FAILED', message, details);
  }
}

/** TensorFlow.js has no backend registered: frames cannot become tensors until one is imported. */
export class NoTfjsBackendError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_NO_TFJS_BACKEND', message, details);
  }
}

/** A fault inside TVL (a bug): please report it with the message. */
export class InternalError extends TvlError {
  constructor(message: string, details?: TvlErrorDetails) {
    super('TVL_INTERNAL', message, details);
  }
}

const classByCode: Record<TvlErrorCode, new (message: string, details?: TvlErrorDetails) => TvlError> = {
  TVL_FILE_NOT_FOUND: FileNotFoundError,
  TVL_NOT_A_VIDEO: NotAVideoError,
  TVL_NO_VIDEO_STREAM: NoVideoStreamError,
  TVL_UNSUPPORTED_CODEC: UnsupportedCodecError,
  TVL_CORRUPT_DATA: CorruptDataError,
  TVL_INEXACT_FRAME: InexactFrameError,
  TVL_INDEX_OUT_OF_RANGE: IndexOutOfRangeError,
  TVL_END_OF_VIDEO: EndOfVideoError,
  TVL_NO_BACKEND: NoBackendError,
  TVL_NO_CUDA_DEVICE: NoCudaDeviceError,
  TVL_CLOSED: LoaderClosedError,
  TVL_INVALID_ARGUMENT: InvalidArgumentError,
  TVL_ABORTED: AbortedError,
  TVL_IO_ERROR: IoError,
  TVL_NATIVE_LOAD_FAILED: NativeLoadError,
  TVL_NO_TFJS_BACKEND: NoTfjsBackendError,
  TVL_INTERNAL: InternalError,
};

/** The error for one item of a batch (a dataset item, a sequence): the original code and a message naming the item. */
export class DatasetItemError extends TvlError {
  constructor(
    readonly itemIndex: number,
    readonly item: string,
    cause: unknown,
    /** What the item is called in the message (default 'dataset item'). */
    noun = 'dataset item',
  ) {
    const code = isTvlErrorCode((cause as { code?: unknown })?.code) ? (cause as TvlError).code : 'TVL_INTERNAL';
    const message = cause instanceof Error ? cause.message : String(cause);
    super(code, `${noun} ${itemIndex} (${item}): ${message}`, {
      cause,
      path: (cause as TvlError)?.path,
      frameIndex: (cause as TvlError)?.frameIndex,
    });
  }
}

export function isTvlErrorCode(code: unknown): code is TvlErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(classByCode, code);
}

/** Builds the typed error for a code. */
export function makeError(code: TvlErrorCode, message: string, details?: TvlErrorDetails): TvlError {
  return new classByCode[code](message, details);
}

/**
 * Converts an error thrown by a native addon (an Error with a `code` and maybe `frameIndex`)
 * into the matching TvlError subclass. Anything unrecognised becomes TVL_INTERNAL, keeping the
 * original as `cause`.
 */
export function fromNativeError(err: unknown, path?: string): TvlError {
  if (err instanceof TvlError) return err;
  const e = err as { code?: unknown; message?: unknown; frameIndex?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const frameIndex = typeof e?.frameIndex === 'number' && e.frameIndex >= 0 ? e.frameIndex : undefined;
  const code: TvlErrorCode = isTvlErrorCode(e?.code) ? e.code : 'TVL_INTERNAL';
  return makeError(code, message, { path, frameIndex, cause: err });
}

/** A value as an error message shows it: never throws (BigInt, symbols, cycles), never huge. */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'symbol' || typeof value === 'function') return String(value);
  if (typeof value === 'number') return String(value);
  try {
    const s = JSON.stringify(value);
    if (s === undefined) return String(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
