/**
 * Finds and loads a backend package's native addon. Nothing is compiled or downloaded at install:
 * a backend ships its addons prebuilt under `prebuilds/<platform>-<arch>/`, and this loads the
 * first one the system can load (a package may ship several, e.g. one per OpenCV version). An
 * addon built from source in the repository (`native/build/Release/`) comes first. When none loads, the
 * error is a NativeLoadError (TVL_NATIVE_LOAD_FAILED) naming the platform, every file tried with
 * the system loader's message, and what to do.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeLoadError } from './errors.js';

export interface NativeAddonSpec {
  /** The package, for messages (`@tvl/libav`). */
  packageName: string;
  /** The addon's file name without `.node`: binding.gyp's target name (`tvl_libav`). */
  addonName: string;
  /** What to install when the addons are there but a system library they need is not. */
  systemLibrariesHint?: string;
}

/** The platform as messages name it: `linux-x64, glibc 2.36`. */
export function describePlatform(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const glibc = report?.header?.glibcVersionRuntime;
  const libc = process.platform === 'linux' ? (glibc ? `glibc ${glibc}` : 'no glibc (musl?)') : '';
  return [`${process.platform}-${process.arch}`, libc, `Node ${process.versions.node}`].filter(Boolean).join(', ');
}

/** The addon files to try, best first. `packageRoot` is the directory holding package.json. */
export function addonCandidates(packageRoot: string, addonName: string): string[] {
  const candidates: string[] = [];
  const built = path.join(packageRoot, 'native', 'build', 'Release', `${addonName}.node`);
  if (fs.existsSync(built)) candidates.push(built);
  const prebuilds = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`);
  const files = fs.existsSync(prebuilds) ? fs.readdirSync(prebuilds) : [];
  const ours = files.filter((f) => f.endsWith('.node') && (f === `${addonName}.node` || f.startsWith(`${addonName}.`)));
  // Variants carry a version (tvl_opencv.opencv4.10.node): newest first.
  ours.sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  candidates.push(...ours.map((f) => path.join(prebuilds, f)));
  return candidates;
}

/** Loads the first candidate that loads, or throws a NativeLoadError that says why none did. */
export function loadNativeAddon<T>(packageRoot: string, spec: NativeAddonSpec, requireFrom: NodeRequire): T {
  const candidates = addonCandidates(packageRoot, spec.addonName);
  const failures: string[] = [];
  for (const file of candidates) {
    try {
      return requireFrom(file) as T;
    } catch (err) {
      failures.push(`  ${path.relative(packageRoot, file)}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  const lines = [`${spec.packageName} cannot load its native addon on this system (${describePlatform()}).`];
  if (candidates.length === 0) {
    lines.push(`  no prebuilt addon for ${process.platform}-${process.arch} in ${path.join(packageRoot, 'prebuilds')}`);
  } else {
    lines.push('Tried:', ...failures);
    if (spec.systemLibrariesHint) lines.push(spec.systemLibrariesHint);
  }
  lines.push(
    'Prebuilt addons cover x64 Linux with glibc 2.31 or newer. To build from source, in a clone of the TVL ' +
      'repository on the target system: `make setup && make dist`, then install the tarballs from dist/.',
  );
  throw new NativeLoadError(lines.join('\n'));
}

/**
 * A lazy loader for a backend package's addon. `moduleUrl` is the calling module's
 * `import.meta.url`, one level below the package root (src/ or dist/).
 */
export function nativeAddonLoader<T>(moduleUrl: string, spec: NativeAddonSpec): () => T {
  let addon: T | undefined;
  return () => {
    if (addon === undefined) {
      const packageRoot = path.resolve(path.dirname(fileURLToPath(moduleUrl)), '..');
      addon = loadNativeAddon<T>(packageRoot, spec, createRequire(moduleUrl));
    }
    return addon;
  };
}
