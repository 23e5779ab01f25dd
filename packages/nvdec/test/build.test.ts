/**
 * The addon as shipped: the CUDA kernel it embeds is the PTX nvcc makes from the shared source
 * today (the committed copy that source builds without nvcc fall back to is not stale), and the
 * addon exports nothing but its N-API entry point and needs no CUDA library at load time.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const addon = path.resolve(here, '../build/Release/tvl_nvdec.node');
const commonRoot = (require('@tvl/native-common') as { root: string }).root;
const embed = require(path.join(commonRoot, 'bin/tvl-embed-ptx.cjs')) as {
  compile(): string | null; committed: string;
};
const hasNvcc = (() => {
  try { execFileSync(process.env.NVCC || 'nvcc', ['--version']); return true; } catch { return false; }
})();

(hasNvcc ? it : it.skip)('the committed PTX is what nvcc makes from cuda/frame_kernel.cu now', () => {
  const fresh = embed.compile();
  expect(fresh).not.toBeNull();
  expect(fresh).toBe(fs.readFileSync(embed.committed, 'utf8'));
});

it('embeds the kernel entry point in the addon', () => {
  const bytes = fs.readFileSync(addon).toString('latin1');
  expect(bytes).toContain('.visible .entry tvl_convert_frame(');
  expect(bytes).toContain('.target sm_75');
});

it('links no CUDA or NVDEC library (they are opened at run time) and exports only its entry point', () => {
  const ldd = execFileSync('ldd', [addon], { encoding: 'utf8' });
  expect(ldd).not.toMatch(/libcuda|libnvcuvid|libcudart/);
  const exported = execFileSync('nm', ['-D', '--defined-only', addon], { encoding: 'utf8' })
    .split('\n').filter((l) => / T /.test(l)).map((l) => l.split(' ').pop());
  expect(exported.filter((s) => !/^napi_register_module_v\d+$|^node_api_module_get_api_version_v\d+$|^_init$|^_fini$/.test(s ?? ''))).toEqual([]);
});
