export { VideoLoader, cpuFallbackReason } from './video-loader.js';
export type { VideoLoaderOptions, ReadOptions, FrameReport, RawFrame } from './video-loader.js';
export * from './errors.js';
export { parseDevice, formatDevice } from './device.js';
export type { Device, DeviceKind } from './device.js';
export { FrameIndex, FrameState } from './frame-index.js';
export type { FrameIndexData, FrameStateName, IndexMode } from './frame-index.js';
export { planDecode, planOutputOrder, CONTINUE, FROM_START, DEFAULT_COST_MODEL } from './seek-planner.js';
export type { DecodePlan, DecodeRun, SeekCostModel } from './seek-planner.js';
export {
  registerBackend, unregisterBackend, listBackends, setBackendFactory, resolveBackend, KNOWN_BACKEND_PACKAGES,
} from './registry.js';
export type {
  BackendFactory, BackendSession, BackendOpenOptions, DecodeRequest, DecodeResult, OutputSpec,
  OutputDtype, OutputLayout, FrameBuffer, VideoInfo, ColourMatrix, ColourRange,
} from './backend.js';
export { resolveOutputSize, allocateFrameBuffer, bufferToTensor, frameShape } from './output.js';
export type { TensorDtype } from './output.js';
export { withCancel, NativeBackendSession } from './native-backend.js';
export { nativeAddonLoader, loadNativeAddon, addonCandidates, describePlatform } from './native-addon.js';
export type { NativeAddonSpec } from './native-addon.js';
export { seededRandom } from './random.js';
export type { NativeSession } from './native-backend.js';
export { normalise, denormalise, resize, crop, flip, fit } from './transforms.js';
export type { FrameOrClip, Interpolation, CropRegion, PadOptions, FitOptions } from './transforms.js';
export { VideoLoaderPool } from './pool.js';
export type { VideoLoaderPoolOptions, WithLoaderOptions } from './pool.js';
export { VideoDataset, BatchDataLoader, DatasetItemError, asyncDataset, slidingClips } from './dataset.js';
export type { AsyncDataset, VideoClip, Clip, VideoDatasetOptions, Batch, BatchDataLoaderOptions } from './dataset.js';
