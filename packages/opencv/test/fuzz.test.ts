import { createRequire } from 'node:module';
import { runFuzzSuite } from '@tvl/core/testing';

// A bounded slice for every CI run; `make fuzz` runs 2,000 files per backend. OpenCV conceals
// damage, so "never another frame" is not its promise (see the README).
runFuzzSuite({ backend: 'opencv', backendModule: createRequire(import.meta.url).resolve('@tvl/opencv'), files: 150, concealsDamage: true });
