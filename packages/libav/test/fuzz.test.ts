import { createRequire } from 'node:module';
import { runFuzzSuite } from '@tvl/core/testing';

// A bounded slice for every CI run; `make fuzz` runs 2,000 files per backend.
runFuzzSuite({ backend: 'libav', backendModule: createRequire(import.meta.url).resolve('@tvl/libav'), files: 150 });
