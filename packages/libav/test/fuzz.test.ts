import { fileURLToPath } from 'node:url';
import { runFuzzSuite } from '@tvl/testkit';

// A bounded slice for every CI run; `make fuzz` runs 2,000 files per backend. The workers are
// plain Node processes: they load the package's build, not its TypeScript.
runFuzzSuite({ backend: 'libav', backendModule: fileURLToPath(new URL('../dist/index.js', import.meta.url)), files: 150 });
