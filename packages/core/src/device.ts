import { InvalidArgumentError } from './errors.js';

export type DeviceKind = 'cpu' | 'cuda';

/** A parsed device string: `'cpu'`, `'cuda'` (= `'cuda:0'`) or `'cuda:N'`. */
export interface Device {
  readonly kind: DeviceKind;
  /** GPU ordinal for cuda; always 0 for cpu. */
  readonly ordinal: number;
}

export function parseDevice(device: string | Device = 'cpu'): Device {
  if (typeof device !== 'string') return device;
  const m = /^(cpu|cuda)(?::(\d+))?$/.exec(device.trim().toLowerCase());
  if (!m || (m[1] === 'cpu' && m[2] !== undefined)) {
    throw new InvalidArgumentError(
      `Expected device 'cpu', 'cuda' or 'cuda:N' but received ${JSON.stringify(device)}`,
    );
  }
  return { kind: m[1] as DeviceKind, ordinal: m[2] === undefined ? 0 : Number(m[2]) };
}

export function formatDevice(device: Device): string {
  return device.kind === 'cpu' ? 'cpu' : `cuda:${device.ordinal}`;
}
