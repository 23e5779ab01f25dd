/**
 * The addon carries TVL's own FFmpeg: it needs no FFmpeg library from the system, exports none of
 * FFmpeg's symbols (another FFmpeg in the process, OpenCV's, cannot bind to them or they to it),
 * and reports TVL's build.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonCandidates } from '@tvl/core/backend';
import { ffmpegVersion } from '@tvl/libav';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [addon] = addonCandidates(packageRoot, 'tvl_libav');

it('needs only the C and C++ runtimes from the system', () => {
  const readelf = spawnSync('readelf', ['-d', addon], { encoding: 'utf8' });
  expect(readelf.status).toBe(0);
  const needed = [...readelf.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  expect(needed.length).toBeGreaterThan(0);
  for (const lib of needed) expect(lib).toMatch(/^(libc|libm|libdl|libpthread|libstdc\+\+|libgcc_s)\.so\.\d+$/);
});

it('exports no FFmpeg or dav1d symbols', () => {
  const nm = spawnSync('nm', ['-D', '--defined-only', addon], { encoding: 'utf8' });
  expect(nm.status).toBe(0);
  const symbols = nm.stdout.split('\n').filter(Boolean);
  expect(symbols.some((s) => s.endsWith(' napi_register_module_v1'))).toBe(true);
  expect(symbols.filter((s) => / (av|avcodec|avformat|avio|sws|swscale|dav1d|ff)_/.test(s))).toEqual([]);
});

it("is TVL's FFmpeg build", () => {
  expect(ffmpegVersion()).toMatch(/tvl/);
});
