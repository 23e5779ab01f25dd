import { runPlanContractSuite } from '@tvl/testkit';
import { loadAddon } from '../src/native.js';

runPlanContractSuite({ name: 'libav', openNative: (file) => loadAddon().openVideo(file, { threads: 2 }, new Int32Array(1)) });
