#!/usr/bin/env node
// The `tvl` command (see src/main.ts). Registers the CPU backend that is always installed with it.
import '@tvl/libav';
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
