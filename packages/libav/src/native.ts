/** Loads the prebuilt addon (or the one built from source) through node-gyp-build. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeVideoInfo {
  width: number;
  height: number;
  codec: string;
  profile: string;
  pixelFormat: string;
  bitDepth: number;
  colourMatrix: 'bt601' | 'bt709' | 'bt2020';
  colourRange: 'limited' | 'full';
  colourMatrixGuessed: boolean;
  rotation: 0 | 90 | 180 | 270;
  container: string;
}

export interface NativeSession {
  info: NativeVideoInfo;
  index: { pts: Float64Array; keyframe: Uint8Array; lastFrameDuration: number; truncated: boolean };
  decode(
    plan: { runs: { start: number; keep: number[] }[] },
    output: { width: number; height: number; dtype: string; layout: string },
    buffers: ArrayBufferView[],
    cancel: Int32Array,
  ): Promise<{ framesDecoded: number; seeks: number; position: number }>;
  close(): Promise<void>;
}

export interface NativeAddon {
  openVideo(path: string, options: { threads?: number }, cancel: Int32Array): Promise<NativeSession>;
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
