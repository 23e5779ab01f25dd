/**
 * A test switch, not API: with it, the CPU path hands the conversion NVDEC's surface layout
 * (NV12/P016) instead of FFmpeg's planar frames, so the GPU's sampling code runs, and is checked,
 * without a GPU. Tests set it under this registered symbol, in `backendOptions` or in
 * SequenceLoader's options; being a symbol, it is invisible to the option-name checks and types.
 */
const EMULATE_NVDEC_SURFACE = Symbol.for('@tvl/nvvl.emulateNvdecSurface');

export function emulatesNvdecSurface(options: object | undefined): boolean {
  return (options as Record<symbol, unknown> | undefined)?.[EMULATE_NVDEC_SURFACE] === true;
}

/** The switch as `backendOptions` for a VideoLoader (SequenceLoader's loaders), or undefined when off. */
export function emulationBackendOptions(options: object | undefined): Record<string, unknown> | undefined {
  return emulatesNvdecSurface(options) ? ({ [EMULATE_NVDEC_SURFACE]: true } as Record<string, unknown>) : undefined;
}
