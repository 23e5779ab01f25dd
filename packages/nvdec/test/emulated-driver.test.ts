/**
 * @tvl/nvdec's whole engine, without a GPU: test/emulated/nvdec.emulated.ts (core's conformance
 * and bad-input suites, colour parity, parallel loaders, unsupported streams) runs in a child jest
 * whose addon loads the emulated NVIDIA driver (test/support/emulated-driver.cc). The driver
 * enforces what a real one does (a current CUDA context for every call, a bounded number of
 * mapped pictures, parameter sets before pictures, delayed display, asynchronous host copies)
 * and reports at exit what was never freed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEmulatedDriver, emulatedDriverEnv } from './support/emulated-driver.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..');
const jestBin = path.resolve(packageDir, '../../node_modules/jest/bin/jest.js');

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: { message: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

describe('@tvl/nvdec on the emulated NVIDIA driver', () => {
  it('passes the conformance, bad-input and colour suites, and frees everything it allocated', () => {
    const lib = buildEmulatedDriver();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-nvdec-emulated-'));
    const results = path.join(dir, 'results.json');
    const report = path.join(dir, 'live');
    const run = spawnSync(process.execPath, [
      '--experimental-vm-modules', jestBin, '--config', path.join(packageDir, 'jest.emulated.config.js'),
      '--runInBand', '--forceExit', '--json', '--outputFile', results,
    ], { cwd: packageDir, env: emulatedDriverEnv(lib, 1, { TVL_FAKE_NVIDIA_REPORT: report }), encoding: 'utf8' });

    expect(fs.existsSync(results) ? '' : `the child jest wrote no results:\n${run.stderr.slice(-4000)}`).toBe('');
    const json = JSON.parse(fs.readFileSync(results, 'utf8')) as JestJson;
    const failures = json.testResults.flatMap((file) => [
      ...(file.assertionResults.length ? [] : [file.message.slice(0, 2000)]),
      ...file.assertionResults.filter((a) => a.status === 'failed').map((a) => `${a.fullName}: ${a.failureMessages.join('\n').slice(0, 1000)}`),
    ]);
    expect(failures).toEqual([]);
    expect(json.numPassedTests).toBeGreaterThanOrEqual(90);
    expect(run.status).toBe(0);

    // What the driver saw still allocated when the process ended: nothing, and no call ever
    // made without a CUDA context current.
    const reports = fs.readdirSync(dir).filter((f) => f.startsWith('live.'));
    expect(reports).toHaveLength(1);
    const live = JSON.parse(fs.readFileSync(path.join(dir, reports[0]), 'utf8')) as Record<string, number>;
    expect(live).toMatchObject({
      deviceAllocations: 0, hostAllocations: 0, streams: 0, events: 0, modules: 0, primaryContexts: 0,
      parsers: 0, decoders: 0, mappedFrames: 0, callsWithoutContext: 0,
      primaryContextFlags: 4, // CU_CTX_SCHED_BLOCKING_SYNC, set before the context was first activated
    });
    expect(live.kernelLaunches).toBeGreaterThan(1000);
    expect(live.picturesDecoded).toBeGreaterThan(live.kernelLaunches);
  }, 900_000);
});
