import { fileURLToPath } from 'node:url';
import { runFuzzSuite } from '@tvl/testkit';

// A bounded slice for every CI run; `make fuzz` runs 2,000 files per backend. OpenCV conceals
// damage, so "never another frame" is not its promise (see the README). The workers are plain
// Node processes: they load the package's build, not its TypeScript.
runFuzzSuite({
  backend: 'opencv',
  backendModule: fileURLToPath(new URL('../dist/index.js', import.meta.url)),
  files: 150,
  concealsDamage: true,
});
