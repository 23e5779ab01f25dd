/**
 * @tvl/core/backend: what a backend package imports to plug into core. The contract (a factory
 * that opens a file into a BackendVideo that executes decode plans), registration, the plans
 * themselves, output buffers, and the helpers every native backend shares: loading its addon,
 * wrapping its native session, cancellation and error conversion. Applications need none of it.
 */
export { registerBackend, unregisterBackend, resolveBackend, KNOWN_BACKEND_PACKAGES } from './registry.js';
export type {
  BackendFactory,
  BackendVideo,
  BackendOpenOptions,
  DecodeRequest,
  DecodeResult,
  OutputSpec,
  OutputDtype,
  OutputLayout,
  FrameBuffer,
  FrameProcessing,
} from './backend.js';
export { planDecode, planOutputOrder, checkDelivered, CONTINUE, FROM_START, FROM_CACHE, DEFAULT_COST_MODEL } from './seek-planner.js';
export type { DecodePlan, DecodeRun, SeekCostModel } from './seek-planner.js';
export { resolveOutputSize, allocateFrameBuffer, bufferToTensor, frameShape } from './output.js';
export { withCancel, NativeBackendVideo } from './native-backend.js';
export type { NativeSession, NativeBackendOptions } from './native-backend.js';
export { nativeAddonLoader, loadNativeAddon, addonCandidates, describePlatform } from './native-addon.js';
export type { NativeAddonSpec } from './native-addon.js';
export { cpuFallbackReason } from './video-loader.js';
export { fromNativeError, describeValue } from './errors.js';
export { rejectUnknownOptions, closestName, booleanOption } from './options.js';
export { startClipBatch } from './clip-batch.js';
export type { ClipRequest, ClipBatchOptions, ClipBatchStart, ClipSource, ProcessedOutput } from './clip-batch.js';
export { prefetchBatches } from './prefetch.js';
export { BatchMemory } from './batch-memory.js';
export type { StartedBatch } from './prefetch.js';
