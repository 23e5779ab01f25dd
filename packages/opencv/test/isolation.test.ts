/**
 * @tvl/opencv must live beside other OpenCV users in one process (opencv4nodejs, a different
 * OpenCV build): its addon exports only the N-API entry points (plus the C++ runtime's weak
 * template instances every addon has), so none of its own or OpenCV's symbols can interpose.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

it('the addon exports no OpenCV or TVL symbols', () => {
  const addon = (require('node-gyp-build') as { path(dir: string): string }).path(packageRoot);
  const nm = spawnSync('nm', ['-D', '--defined-only', '-C', addon], { encoding: 'utf8' });
  expect(nm.status).toBe(0);
  const symbols = nm.stdout.split('\n').filter(Boolean);
  expect(symbols.some((s) => s.endsWith(' napi_register_module_v1'))).toBe(true);
  expect(symbols.filter((s) => /\b(cv|tvl)::/.test(s))).toEqual([]);
});
