/**
 * Backend registry. Backend packages call `registerBackend` when imported. When nothing is
 * registered for a device, `resolveBackend` tries to import the known packages for it, then
 * fails with an error that names what to install.
 *
 * Which backend decodes when `open` names none does not depend on import order: the pinned one
 * (setBackendFactory), else the first registered in KNOWN_BACKEND_PACKAGES' order (cpu: libav,
 * then opencv; cuda: nvdec, then nvvl), else other registered backends in registration order.
 * A backend marked `explicitOnly` (nvvl's CPU path) decodes only when named.
 *
 * The registry lives on globalThis under a Symbol.for key so that two copies of @tvl/core in one
 * process (a common npm layout accident) still see the same backends.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackendFactory } from './backend.js';
import type { Device, DeviceKind } from './device.js';
import { formatDevice } from './device.js';
import { NoBackendError } from './errors.js';

interface RegistryState {
  backends: BackendFactory[];
  pinned: Map<DeviceKind, BackendFactory>;
}

const KEY = Symbol.for('@tvl/core.registry');
const globalScope = globalThis as typeof globalThis & { [KEY]?: RegistryState };
const state: RegistryState = (globalScope[KEY] ??= { backends: [], pinned: new Map() });

/** Packages tried, in order, when no backend is registered for a device. */
export const KNOWN_BACKEND_PACKAGES: Record<DeviceKind, string[]> = {
  cpu: ['@tvl/libav', '@tvl/opencv'],
  cuda: ['@tvl/nvdec', '@tvl/nvvl'],
};

/** Adds (or replaces, by name and device) a backend. Backend packages call this on import. */
export function registerBackend(factory: BackendFactory): void {
  const i = state.backends.findIndex((b) => b.name === factory.name && b.device === factory.device);
  if (i >= 0) state.backends[i] = factory;
  else state.backends.push(factory);
}

export function unregisterBackend(name: string, device?: DeviceKind): void {
  state.backends = state.backends.filter((b) => !(b.name === name && (device === undefined || b.device === device)));
  for (const [kind, f] of state.pinned) if (f.name === name && (device === undefined || kind === device)) state.pinned.delete(kind);
}

export function listBackends(): readonly BackendFactory[] {
  return [...state.backends];
}

/**
 * Pins the backend used for a device when `open` names none (the Python TVL's
 * set_backend_factory). Pass a registered backend's name or a factory; null unpins.
 */
export function setBackendFactory(device: DeviceKind, backend: string | BackendFactory | null): void {
  if (backend === null) {
    state.pinned.delete(device);
    return;
  }
  if (typeof backend === 'string') {
    const found = state.backends.find((b) => b.name === backend && b.device === device);
    if (!found) {
      throw new NoBackendError(
        `No backend named '${backend}' is registered for device '${device}'. ` +
          `Registered: ${describeRegistered(device)}. Import its package first.`,
      );
    }
    state.pinned.set(device, found);
  } else {
    registerBackend(backend);
    state.pinned.set(device, backend);
  }
}

function describeRegistered(device: DeviceKind): string {
  const names = state.backends.filter((b) => b.device === device).map((b) => b.name);
  return names.length ? names.join(', ') : 'none';
}

function pick(device: DeviceKind, name?: string): BackendFactory | undefined {
  if (name) return state.backends.find((b) => b.name === name && b.device === device);
  const pinned = state.pinned.get(device);
  if (pinned) return pinned;
  const preferred = KNOWN_BACKEND_PACKAGES[device].map((pkg) => pkg.replace(/^@tvl\//, ''));
  const rank = (b: BackendFactory) => {
    const i = preferred.indexOf(b.name);
    return i < 0 ? preferred.length : i;
  };
  // (A stable sort: equal ranks keep registration order.)
  return state.backends.filter((b) => b.device === device && !b.explicitOnly).sort((a, b) => rank(a) - rank(b))[0];
}

/** Imports a package as the user's program would see it (from the working directory or main module). */
async function tryImport(pkg: string): Promise<boolean> {
  const bases = [path.join(process.cwd(), 'noop.js')];
  if (process.argv[1]) bases.push(process.argv[1]);
  for (const base of bases) {
    let resolved: string;
    try {
      resolved = createRequire(base).resolve(pkg);
    } catch {
      continue;
    }
    try {
      await import(pathToFileURL(resolved).href);
    } catch (err) {
      // Installed but unusable (e.g. its native addon cannot find FFmpeg's shared libraries).
      throw new NoBackendError(`${pkg} is installed but failed to load: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    return true;
  }
  return false;
}

/** Finds the backend for a device, importing known packages if nothing is registered yet. */
export async function resolveBackend(device: Device, name?: string): Promise<BackendFactory> {
  let found = pick(device.kind, name);
  if (found) return found;
  const candidates = KNOWN_BACKEND_PACKAGES[device.kind].filter((pkg) => !name || pkg === `@tvl/${name}`);
  for (const pkg of candidates) {
    if (await tryImport(pkg)) {
      found = pick(device.kind, name);
      if (found) return found;
    }
  }
  const wanted = name ? `backend '${name}'` : 'backend';
  const packages = candidates.length > 0 ? candidates : [`@tvl/${name}`];
  const alternatives = packages.length > 1 ? ` (or ${packages.slice(1).join(', ')})` : '';
  throw new NoBackendError(
    `No ${wanted} for device '${formatDevice(device)}' is available. ` +
      `Install and import one: npm i ${packages[0]}${alternatives}. ` +
      `Registered for '${device.kind}': ${describeRegistered(device.kind)}.`,
  );
}
