import type { DeviceKind } from '@tvl/core';
import type { SeekCostModel } from '@tvl/core/backend';

/**
 * What a seek costs nvvl, in frame decodes, for the planner: on the GPU about 4 (FFmpeg's parser
 * restarts, NVDEC does not); on the CPU path about 6, as for @tvl/libav (the same decoder).
 */
export function nvvlCostModel(device: DeviceKind): SeekCostModel {
  return { seekCost: device === 'cuda' ? 4 : 6 };
}
