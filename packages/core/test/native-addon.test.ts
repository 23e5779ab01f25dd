/**
 * The addon loader: what a user sees when no prebuilt addon fits their system.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { NativeLoadError, TvlError } from '@tvl/core';
import { addonCandidates, describePlatform, loadNativeAddon } from '@tvl/core/backend';

const require = createRequire(import.meta.url);
const spec = { packageName: '@tvl/example', addonName: 'tvl_example', systemLibrariesHint: 'install libexample1' };
const platformDir = `${process.platform}-${process.arch}`;

function fakePackage(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-addon-'));
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), content);
  }
  return root;
}

function loadError(root: string): NativeLoadError {
  try {
    loadNativeAddon(root, spec, require);
  } catch (err) {
    return err as NativeLoadError;
  }
  throw new Error('the addon loaded');
}

it('names the platform, the missing prebuilds and the way to build from source when none ships for it', () => {
  const err = loadError(fakePackage({ 'package.json': '{}' }));
  expect(err).toBeInstanceOf(TvlError);
  expect(err.code).toBe('TVL_NATIVE_LOAD_FAILED');
  expect(err.message).toContain('@tvl/example');
  expect(err.message).toContain(describePlatform());
  expect(err.message).toContain(`no prebuilt addon for ${platformDir}`);
  expect(err.message).toMatch(/make setup && make dist/);
  expect(err.message).not.toContain('libexample1');
});

it("names every file it tried with the system loader's message, and the libraries to install", () => {
  const root = fakePackage({
    [`prebuilds/${platformDir}/tvl_example.v1.node`]: 'not an ELF file',
    [`prebuilds/${platformDir}/tvl_example.v2.node`]: 'not an ELF file either',
    [`prebuilds/${platformDir}/other_addon.node`]: "someone else's",
  });
  const err = loadError(root);
  expect(err.code).toBe('TVL_NATIVE_LOAD_FAILED');
  expect(err.message).toContain(`prebuilds/${platformDir}/tvl_example.v1.node: `);
  expect(err.message).toContain(`prebuilds/${platformDir}/tvl_example.v2.node: `);
  expect(err.message).toMatch(/invalid ELF header|file too short/);
  expect(err.message).not.toContain('other_addon');
  expect(err.message).toContain('install libexample1');
});

it('tries an addon built from source first, then the prebuilds, newest version first', () => {
  const root = fakePackage({
    'native/build/Release/tvl_example.node': '',
    [`prebuilds/${platformDir}/tvl_example.opencv4.5.node`]: '',
    [`prebuilds/${platformDir}/tvl_example.opencv4.10.node`]: '',
    [`prebuilds/${platformDir}/tvl_example.opencv4.6.node`]: '',
  });
  expect(addonCandidates(root, 'tvl_example').map((f) => path.relative(root, f))).toEqual([
    'native/build/Release/tvl_example.node',
    `prebuilds/${platformDir}/tvl_example.opencv4.10.node`,
    `prebuilds/${platformDir}/tvl_example.opencv4.6.node`,
    `prebuilds/${platformDir}/tvl_example.opencv4.5.node`,
  ]);
});

it('loads the first candidate that loads', () => {
  const root = fakePackage({
    'native/build/Release/tvl_example.node': 'broken',
    [`prebuilds/${platformDir}/tvl_example.node`]: 'broken',
  });
  const loaded: string[] = [];
  const fakeRequire = ((file: string) => {
    loaded.push(path.relative(root, file));
    if (file.includes('/native/build/Release/')) throw new Error('libexample.so.1: cannot open shared object file');
    return { ok: true };
  }) as NodeRequire;
  expect(loadNativeAddon(root, spec, fakeRequire)).toEqual({ ok: true });
  expect(loaded).toEqual(['native/build/Release/tvl_example.node', `prebuilds/${platformDir}/tvl_example.node`]);
});
