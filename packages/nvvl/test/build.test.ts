import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGpuAddonBuildChecks } from '@tvl/testkit';

runGpuAddonBuildChecks(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../native/build/Release/tvl_nvvl.node'));
