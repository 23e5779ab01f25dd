/**
 * Cancellation of native calls: the cell a call polls is its signal's, shared by every call made
 * under that signal, so a call adds no abort listener of its own.
 */
import { getEventListeners } from 'node:events';
import { withCancel } from '@tvl/core/backend';

/** A native call that stays in flight until `finish()`, reading its cell then. */
function pendingCall() {
  let finish!: () => void;
  let cell!: Int32Array;
  const call = (c: Int32Array) => {
    cell = c;
    return new Promise<number>((resolve) => {
      finish = () => resolve(Atomics.load(c, 0));
    });
  };
  return { call, finish: () => finish(), cell: () => cell };
}

it('gives the calls made under one signal one cell and one abort listener, and aborting sets it for every call in flight', async () => {
  const controller = new AbortController();
  const calls = Array.from({ length: 5 }, () => pendingCall());
  const results = calls.map((c) => withCancel(controller.signal, c.call));
  await Promise.resolve();
  expect(new Set(calls.map((c) => c.cell())).size).toBe(1);
  expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
  expect(calls[0].cell()[0]).toBe(0);
  controller.abort();
  calls.forEach((c) => c.finish());
  expect(await Promise.all(results)).toEqual([1, 1, 1, 1, 1]);
  // A call after the abort never starts.
  const late = pendingCall();
  await expect(withCancel(controller.signal, late.call)).rejects.toMatchObject({ code: 'TVL_ABORTED' });
  expect(late.cell()).toBeUndefined();
});

it('gives other signals, and calls without one, cells that an abort elsewhere leaves alone', async () => {
  const aborted = new AbortController();
  const other = new AbortController();
  const a = pendingCall();
  const b = pendingCall();
  const none = pendingCall();
  const results = [withCancel(aborted.signal, a.call), withCancel(other.signal, b.call), withCancel(undefined, none.call)];
  await Promise.resolve();
  expect(new Set([a.cell(), b.cell(), none.cell()]).size).toBe(3);
  aborted.abort();
  [a, b, none].forEach((c) => c.finish());
  expect(await Promise.all(results)).toEqual([1, 0, 0]);
});
