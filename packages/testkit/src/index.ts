/**
 * TVL's test kit (private, never published): generated clips, the checks, and the suites every
 * backend package runs against itself.
 */
export * from './media.js';
export * from './plan-contract.js';
export * from './checks.js';
export * from './conformance.js';
export * from './bad-input.js';
export * from './fixtures.js';
export * from './gpu-addon.js';
export * from './emulated-nvidia.js';
export * from './gpu-parity.js';
export * from './corruption-sweep.js';
export * from './fuzz.js';
