import { InvalidArgumentError, describeValue } from './errors.js';

export type DeviceKind = 'cpu' | 'cuda';

/** A parsed device string: `'cpu'`, `'cuda'` (= `'cuda:0'`) or `'cuda:N'`. */
export interface Device {
  readonly kind: DeviceKind;
  /** GPU ordinal for cuda; always 0 for cpu. */
  readonly ordinal: number;
}

export function parseDevice(device: string | Device = 'cpu'): Device {
  if (typeof device !== 'string') {
    const d = device as Partial<Device> | null;
    const valid =
      d !== null &&
      typeof d === 'object' &&
      (d.kind === 'cpu' || d.kind === 'cuda') &&
      Number.isInteger(d.ordinal) &&
      (d.ordinal as number) >= 0 &&
      (d.kind === 'cuda' || d.ordinal === 0);
    if (!valid) {
      throw new InvalidArgumentError(`Expected device 'cpu', 'cuda' or 'cuda:N' but received ${describeValue(device)}`);
    }
    return device;
  }
  const m = /^(cpu|cuda)(?::(\d+))?$/.exec(device.trim().toLowerCase());
  if (!m || (m[1] === 'cpu' && m[2] !== undefined)) {
    throw new InvalidArgumentError(`Expected device 'cpu', 'cuda' or 'cuda:N' but received ${describeValue(device)}`);
  }
  return { kind: m[1] as DeviceKind, ordinal: m[2] === undefined ? 0 : Number(m[2]) };
}

export function formatDevice(device: Device): string {
  return device.kind === 'cpu' ? 'cpu' : `cuda:${device.ordinal}`;
}
