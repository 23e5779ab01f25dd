/**
 * Builds the emulated NVIDIA driver (emulated-driver.cc: libcuda + libnvcuvid in one library,
 * decoding with libavcodec and running the frame kernel on the CPU) and gives the environment
 * that makes the addon load it. See emulated-driver.cc for what it does and does not prove.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const commonInclude = path.resolve(here, '../../../native-common/include');

/** Compiles the emulator into a fresh temporary folder; returns the library's path. */
export function buildEmulatedDriver(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-emulated-nvidia-'));
  const lib = path.join(dir, 'libemulated-nvidia.so');
  const ffmpeg = execFileSync('pkg-config', ['--cflags', '--libs', 'libavcodec', 'libavutil', 'ffnvcodec'], { encoding: 'utf8' })
    .trim().split(/\s+/);
  execFileSync('g++', ['-std=c++17', '-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-o', lib,
    path.join(here, 'emulated-driver.cc'), `-I${commonInclude}`, ...ffmpeg]);
  return lib;
}

/** The environment under which the addon takes `lib` for the NVIDIA driver, with `devices` GPUs. */
export function emulatedDriverEnv(lib: string, devices: number, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, TVL_LIBCUDA: lib, TVL_LIBNVCUVID: lib, TVL_FAKE_CUDA_DEVICES: String(devices), ...more };
}
