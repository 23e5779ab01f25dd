/**
 * Builds the emulated NVIDIA driver (emulated-driver.cc: libcuda + libnvcuvid in one library,
 * decoding with libavcodec and running the frame kernel on the CPU) and gives the environment
 * that makes the addon load it. See emulated-driver.cc for what it does and does not prove.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const commonInclude = path.resolve(here, '../../../native-common/include');

/**
 * Compiles the emulator (once per source version: the library is kept in the temporary folder
 * under a hash of its sources); returns the library's path.
 */
export function buildEmulatedDriver(): string {
  const sources = [path.join(here, 'emulated-driver.cc'), path.join(commonInclude, 'tvl/gpu/frame_kernel.h')];
  const hash = createHash('sha1');
  for (const file of sources) hash.update(fs.readFileSync(file));
  const lib = path.join(os.tmpdir(), `tvl-emulated-nvidia-${hash.digest('hex').slice(0, 12)}.so`);
  if (fs.existsSync(lib)) return lib;
  const ffmpeg = execFileSync('pkg-config', ['--cflags', '--libs', 'libavcodec', 'libavutil', 'ffnvcodec'], { encoding: 'utf8' })
    .trim().split(/\s+/);
  const tmp = `${lib}.${process.pid}.tmp`;  // jest workers may build it at once: rename is atomic
  execFileSync('g++', ['-std=c++17', '-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-o', tmp, sources[0], `-I${commonInclude}`, ...ffmpeg]);
  fs.renameSync(tmp, lib);
  return lib;
}

/** The environment under which the addon takes `lib` for the NVIDIA driver, with `devices` GPUs. */
export function emulatedDriverEnv(lib: string, devices: number, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, TVL_LIBCUDA: lib, TVL_LIBNVCUVID: lib, TVL_FAKE_CUDA_DEVICES: String(devices), ...more };
}
