/**
 * The emulated NVIDIA driver for GPU backends' tests on machines without a GPU:
 * native/emulated-nvidia-driver.cc (in this package), one library standing in for
 * libcuda.so.1 and libnvcuvid.so.1 (decoding with libavcodec, running the frame kernel on the
 * CPU, enforcing a real driver's rules). See that file for what it does and does not prove.
 *
 *   runEmulatedDriverSuite({ packageDir, config: 'jest.emulated.config.js', minPassed: 90 });
 *
 * The addons load the driver once per process, so the suite runs in a child jest whose
 * environment has the driver from the start; this checks its results and the driver's report of
 * what was never freed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Compiles the emulator (once per source version: the library is kept in the temporary folder
 * under a hash of its sources) with the C++ of @tvl/native-common (the frame kernel, so the
 * emulated GPU runs the very kernel the addons embed); returns the library's path. Beside it, `<lib>.sonames/` holds it under the driver's
 * sonames, for libraries that open the driver by name (FFmpeg).
 */
export function buildEmulatedNvidiaDriver(): string {
  const root = (createRequire(import.meta.url)('@tvl/native-common') as { root: string }).root;
  const include = path.join(root, 'include');
  const driverSource = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../native/emulated-nvidia-driver.cc');
  const sources = [driverSource, path.join(include, 'tvl/gpu/frame_kernel.h')];
  const hash = createHash('sha1');
  for (const file of sources) hash.update(fs.readFileSync(file));
  const lib = path.join(os.tmpdir(), `tvl-emulated-nvidia-${hash.digest('hex').slice(0, 12)}.so`);
  if (fs.existsSync(`${lib}.sonames`)) return lib;
  // Parallel jest workers may build it at once: each writes its own files, then renames (atomic).
  const tmp = `${lib}.${process.pid}.tmp`;
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libavcodec', 'libavutil', 'ffnvcodec'], { encoding: 'utf8' })
    .trim()
    .split(/\s+/);
  execFileSync('g++', ['-std=c++17', '-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-o', tmp, sources[0], `-I${include}`, ...flags]);
  fs.renameSync(tmp, lib);
  const sonames = `${lib}.sonames.${process.pid}.tmp`;
  fs.mkdirSync(sonames, { recursive: true });
  for (const name of ['libcuda.so.1', 'libnvcuvid.so.1']) fs.symlinkSync(lib, path.join(sonames, name));
  try {
    fs.renameSync(sonames, `${lib}.sonames`);
  } catch {
    fs.rmSync(sonames, { recursive: true, force: true }); // another worker's is there
  }
  return lib;
}

/**
 * The environment under which TVL's addons (TVL_LIBCUDA, TVL_LIBNVCUVID) and FFmpeg (the
 * sonames on LD_LIBRARY_PATH) take `lib` for the NVIDIA driver, which then finds `devices` GPUs.
 */
export function emulatedNvidiaEnv(lib: string, devices: number, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  const libraryPath = [`${lib}.sonames`, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return {
    ...process.env,
    TVL_LIBCUDA: lib,
    TVL_LIBNVCUVID: lib,
    TVL_FAKE_CUDA_DEVICES: String(devices),
    LD_LIBRARY_PATH: libraryPath,
    ...more,
  };
}

/** What the emulated driver reports at the end of a process (TVL_FAKE_NVIDIA_REPORT). */
export interface EmulatedDriverReport {
  /** Still allocated at exit: each must be 0. */
  deviceAllocations: number;
  hostAllocations: number;
  streams: number;
  events: number;
  modules: number;
  primaryContexts: number;
  parsers: number;
  decoders: number;
  mappedFrames: number;
  /** Driver calls made with no CUDA context current, and calls of entry points it does not play. */
  callsWithoutContext: number;
  unsupportedCalls: number;
  kernelLaunches: number;
  /** Pictures decoded (all), and those of them parsed by FFmpeg (its NVDEC hwaccel). */
  picturesDecoded: number;
  hwaccelPictures: number;
  /** The primary context's flags (CU_CTX_SCHED_BLOCKING_SYNC = 4 when TVL activated it first). */
  primaryContextFlags: number;
}

interface JestJson {
  numPassedTests: number;
  testResults: { message: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

export interface EmulatedDriverSuiteOptions {
  /** The package whose suite runs (its directory: the child jest's working directory). */
  packageDir: string;
  /** Its jest config for the suite, relative to packageDir. */
  config: string;
  /** Tests the suite must pass at least (so a suite that silently shrank fails). */
  minPassed: number;
  /** More checks of the driver's report (nothing left allocated is always checked). */
  checkReport?: (report: EmulatedDriverReport) => void;
}

/**
 * One jest test that runs a package's suite against the emulated driver (one GPU) in a child
 * jest, fails with the child's failures, and checks the driver's report: nothing left allocated,
 * no call without a context, no call of an entry point the emulator does not play.
 */
export function runEmulatedDriverSuite(options: EmulatedDriverSuiteOptions): void {
  const name = path.basename(options.packageDir);
  describe(`${name} on the emulated NVIDIA driver`, () => {
    it('passes its suite and frees everything it allocated', () => {
      const lib = buildEmulatedNvidiaDriver();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tvl-${name}-emulated-`));
      const results = path.join(dir, 'results.json');
      const reportPrefix = path.join(dir, 'live');
      const jest = path.join(
        path.dirname(createRequire(path.join(options.packageDir, 'package.json')).resolve('jest/package.json')),
        'bin/jest.js',
      );
      const run = spawnSync(
        process.execPath,
        [
          '--experimental-vm-modules',
          jest,
          '--config',
          path.join(options.packageDir, options.config),
          '--runInBand',
          '--forceExit',
          '--json',
          '--outputFile',
          results,
        ],
        { cwd: options.packageDir, env: emulatedNvidiaEnv(lib, 1, { TVL_FAKE_NVIDIA_REPORT: reportPrefix }), encoding: 'utf8' },
      );

      expect(fs.existsSync(results) ? '' : `the child jest wrote no results:\n${run.stderr.slice(-4000)}`).toBe('');
      const json = JSON.parse(fs.readFileSync(results, 'utf8')) as JestJson;
      const failures = json.testResults.flatMap((file) => [
        ...(file.assertionResults.length ? [] : [file.message.slice(0, 2000)]),
        ...file.assertionResults
          .filter((a) => a.status === 'failed')
          .map((a) => `${a.fullName}: ${a.failureMessages.join('\n').slice(0, 1000)}`),
      ]);
      expect(failures).toEqual([]);
      expect(json.numPassedTests).toBeGreaterThanOrEqual(options.minPassed);
      expect(run.status).toBe(0);

      const reports = fs.readdirSync(dir).filter((f) => f.startsWith('live.'));
      expect(reports).toHaveLength(1);
      const report = JSON.parse(fs.readFileSync(path.join(dir, reports[0]), 'utf8')) as EmulatedDriverReport;
      expect(report).toMatchObject({
        deviceAllocations: 0,
        hostAllocations: 0,
        streams: 0,
        events: 0,
        modules: 0,
        primaryContexts: 0,
        parsers: 0,
        decoders: 0,
        mappedFrames: 0,
        callsWithoutContext: 0,
        unsupportedCalls: 0,
      });
      options.checkReport?.(report);
    }, 900_000);
  });
}
