/**
 * @tvl/opencv must live beside other OpenCV users in one process (opencv4nodejs, a different
 * OpenCV build): its addon exports only the N-API entry points (plus the C++ runtime's weak
 * template instances every addon has), so none of its own or OpenCV's symbols can interpose.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonCandidates } from '@tvl/core/backend';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

it('the addon exports no OpenCV, FFmpeg or TVL symbols', () => {
  const [addon] = addonCandidates(packageRoot, 'tvl_opencv');
  const nm = spawnSync('nm', ['-D', '--defined-only', '-C', addon], { encoding: 'utf8' });
  expect(nm.status).toBe(0);
  const symbols = nm.stdout.split('\n').filter(Boolean);
  expect(symbols.some((s) => s.endsWith(' napi_register_module_v1'))).toBe(true);
  expect(symbols.filter((s) => /\b(cv|tvl)::| (av|avcodec|avformat|sws|dav1d)_/.test(s))).toEqual([]);
});
