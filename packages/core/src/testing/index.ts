/** Helpers for backend packages' test suites: generated clips and the shared conformance suite. */
export * from './media.js';
export * from './conformance.js';
export * from './bad-input.js';
export * from './fixtures.js';
export * from './gpu-addon.js';
export * from './emulated-nvidia.js';
export * from './gpu-parity.js';
export * from './corruption-sweep.js';
export * from './fuzz.js';
