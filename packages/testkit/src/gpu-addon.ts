/**
 * Checks every GPU addon package runs on its build (no GPU needed): the CUDA kernel it embeds
 * is the PTX nvcc makes from native-common's source today (so the committed copy, which builds
 * without nvcc use, is not stale), and the addon links no CUDA library (they are opened at run
 * time, so it loads on machines without a GPU) and exports only its N-API entry points.
 *
 *   runGpuAddonBuildChecks(path.resolve(here, '../native/build/Release/tvl_nvdec.node'));
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

interface EmbedPtx {
  compile(): string | null;
  committed: string;
}

function hasTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** A PTX module's interface: its target, and each entry point with its parameter declarations. */
export function ptxInterface(ptx: string): { target: string | undefined; entries: string[] } {
  const target = /^\.target\s+(\S+)/m.exec(ptx)?.[1];
  const entries = [...ptx.matchAll(/\.entry\s+(\w+)\s*\(([^)]*)\)/g)].map(
    (m) =>
      `${m[1]}(${m[2]
        .split(',')
        .map((p) => p.trim().replace(/\s+/g, ' '))
        .join(', ')})`,
  );
  return { target, entries };
}

/** "13.0" from the PTX header nvcc writes ("Cuda compilation tools, release 13.0, ..."). */
function nvccRelease(ptx: string): string | undefined {
  return /Cuda compilation tools, release ([\d.]+)/.exec(ptx)?.[1];
}

export function runGpuAddonBuildChecks(addonPath: string): void {
  describe(`GPU addon build: ${path.basename(addonPath)}`, () => {
    (hasTool(process.env.NVCC || 'nvcc') ? it : it.skip)('the committed PTX is what nvcc makes from cuda/frame_kernel.cu now', () => {
      // (Builds with nvcc embed fresh PTX; the committed copy serves builds without it.)
      // Resolved from the addon's package, which depends on @tvl/native-common.
      const require = createRequire(addonPath);
      const root = (require('@tvl/native-common') as { root: string }).root;
      const embed = require(path.join(root, 'bin/tvl-embed-ptx.cjs')) as EmbedPtx;
      const fresh = embed.compile();
      expect(fresh).not.toBeNull();
      const committed = fs.readFileSync(embed.committed, 'utf8');
      // What must match whatever nvcc made it: the entry points, their parameters (the structs
      // the host passes by value) and the oldest target.
      expect(ptxInterface(fresh!)).toEqual(ptxInterface(committed));
      // The same nvcc release must make the same file: otherwise the .cu changed after the copy.
      if (nvccRelease(fresh!) === nvccRelease(committed)) expect(fresh).toBe(committed);
    });

    (hasTool('ptxas') ? it : it.skip)('the PTX assembles for Turing (sm_75) and Hopper (sm_90) without spilling', () => {
      const require = createRequire(addonPath);
      const ptx = path.join((require('@tvl/native-common') as { cuda: string }).cuda, 'frame_kernel.ptx');
      for (const arch of ['sm_75', 'sm_90']) {
        const r = spawnSync('ptxas', [`-arch=${arch}`, '-v', ptx, '-o', '/dev/null'], { encoding: 'utf8' });
        expect(r.status).toBe(0);
        expect(r.stderr).toMatch(/Function properties for tvl_convert_frame/); // -v reports on stderr
        expect(r.stderr).toMatch(/0 bytes spill stores, 0 bytes spill loads/);
      }
    });

    it('embeds the frame kernel as PTX for compute_75 and later', () => {
      const bytes = fs.readFileSync(addonPath).toString('latin1');
      expect(bytes).toContain('.visible .entry tvl_convert_frame(');
      expect(bytes).toContain('.target sm_75');
      // The kernel takes YuvSurface and ConvertParams by value: its parameter sizes must be the
      // host's (frame_kernel.h static_asserts the same numbers on the host side).
      expect(bytes).toContain('.param .align 8 .b8 tvl_convert_frame_param_0[64]');
      expect(bytes).toContain('.param .align 4 .b8 tvl_convert_frame_param_1[128]');
    });

    it('links no CUDA or NVDEC library and exports only its N-API entry points', () => {
      const ldd = execFileSync('ldd', [addonPath], { encoding: 'utf8' });
      expect(ldd).not.toMatch(/libcuda|libnvcuvid|libcudart/);
      const exported = execFileSync('nm', ['-D', '--defined-only', addonPath], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => / T /.test(l))
        .map((l) => l.split(' ').pop() ?? '');
      expect(exported.filter((s) => !/^napi_register_module_v\d+$|^node_api_module_get_api_version_v\d+$/.test(s))).toEqual([]);
    });
  });
}
