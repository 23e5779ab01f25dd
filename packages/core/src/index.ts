/**
 * @tvl/core: what applications import. Backend packages import `@tvl/core/backend` as well (the
 * contract they implement and the helpers they share; see for-backends.ts).
 */
export { VideoLoader } from './video-loader.js';
export type {
  VideoLoaderOptions,
  ReadOptions,
  FrameReport,
  RawFrame,
  DecodeWork,
  BackendOptionsByName,
  BackendOptionsFor,
} from './video-loader.js';
export * from './errors.js';
export { parseDevice, formatDevice } from './device.js';
export type { Device, DeviceKind } from './device.js';
export { FrameIndex, FrameState } from './frame-index.js';
export type { FrameIndexData, FrameStateName, IndexMode } from './frame-index.js';
export { listBackends, setBackendFactory } from './registry.js';
export type { VideoInfo, ColourMatrix, ColourRange } from './backend.js';
export type { TensorDtype } from './output.js';
export { seededRandom } from './random.js';
export { normalise, denormalise, resize, crop, flip, fit } from './transforms.js';
export type { FrameOrClip, Interpolation, CropRegion, PadOptions, FitOptions } from './transforms.js';
export { VideoLoaderPool } from './pool.js';
export type { VideoLoaderPoolOptions, WithLoaderOptions } from './pool.js';
export { VideoDataset, BatchDataLoader, asyncDataset, slidingClips } from './dataset.js';
export type { AsyncDataset, VideoClip, Clip, VideoDatasetOptions, Batch, BatchDataLoaderOptions, StartBatchOptions } from './dataset.js';
export type { BatchMemory } from './batch-memory.js';
