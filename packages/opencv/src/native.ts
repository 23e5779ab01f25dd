/** Loads the prebuilt addon (or the one built from source) through node-gyp-build. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeSession } from '@tvl/core';

export interface NativeAddon {
  openVideo(path: string, options: { colour?: string }, cancel: Int32Array): Promise<NativeSession>;
  opencvVersion: string;
  ffmpegVersion: string;
}

const require = createRequire(import.meta.url);
// src/native.ts and dist/native.js both sit one level below the package root.
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let addon: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  addon ??= (require('node-gyp-build') as (dir: string) => NativeAddon)(packageRoot);
  return addon;
}
