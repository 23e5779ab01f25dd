import { runPlanContractSuite } from '@tvl/testkit';
import { loadAddon } from '../src/native.js';

runPlanContractSuite({ name: 'opencv', openNative: (file) => loadAddon().openVideo(file, { colour: 'stream' }, new Int32Array(1)) });
