// The suite that runs @tvl/nvvl's GPU path against the emulated NVIDIA driver (@tvl/native-common's
// packages/testkit/native/emulated-nvidia-driver.cc), FFmpeg's NVDEC hwaccel included. It needs the driver's
// environment from the start of its process, so test/emulated-driver.test.ts runs it in a child
// jest; it is not one of the root run's projects.
import { jestConfig } from '../../jest.base.js';
const config = jestConfig('nvvl-emulated');
export default { ...config, testMatch: ['<rootDir>/test/emulated/**/*.emulated.ts'], testTimeout: 120000 };
