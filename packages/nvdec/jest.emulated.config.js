// The suite that runs @tvl/nvdec against the emulated NVIDIA driver (@tvl/native-common's
// packages/testkit/native/emulated-nvidia-driver.cc).
// It needs the driver's environment from the start of its process (the addon loads the driver once
// per process), so test/emulated-driver.test.ts runs it in a child jest; it is not one of the
// root run's projects.
import { jestConfig } from '../../jest.base.js';
const config = jestConfig('nvdec-emulated');
export default { ...config, testMatch: ['<rootDir>/test/emulated/**/*.emulated.ts'], testTimeout: 120000 };
