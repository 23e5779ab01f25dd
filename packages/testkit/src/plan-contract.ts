/**
 * The contract between core's planner and a native session, checked on the session itself (no
 * VideoLoader in between): the plan is the one decision to seek, and what the session did comes
 * back as facts core can check.
 *
 *   runPlanContractSuite({ name: 'libav', openNative: (file) => loadAddon().openVideo(file, {}, new Int32Array(1)) });
 */
import type { DecodeResult, NativeSession } from '@tvl/core/backend';
import { CONTINUE } from '@tvl/core/backend';
import { makeIndexedClip, readFrameCode } from './media.js';

export interface PlanContractOptions {
  name: string;
  openNative: (file: string) => Promise<NativeSession>;
}

const WIDTH = 160;
const HEIGHT = 120;

export function runPlanContractSuite(options: PlanContractOptions): void {
  describe(`decode plans and their facts: ${options.name}`, () => {
    let session: NativeSession;
    let keyframeAtOrBefore: (i: number) => number;
    beforeAll(async () => {
      session = await options.openNative(makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 60, gop: 12, bframes: 2 }));
      const flags = session.index.keyframe;
      keyframeAtOrBefore = (i) => {
        while (i > 0 && !flags[i]) i--;
        return i;
      };
    });
    afterAll(() => session?.close());

    /** Runs a plan; returns the facts and the code drawn in each buffer. */
    async function run(
      runs: Array<{ start: number; keep: number[]; orSeek?: number; from?: number }>,
    ): Promise<DecodeResult & { codes: number[] }> {
      const buffers = runs.flatMap((r) => r.keep).map(() => new Uint8Array(WIDTH * HEIGHT * 3));
      const result = await session.decode(
        { runs },
        { width: WIDTH, height: HEIGHT, dtype: 'uint8', layout: 'hwc' },
        buffers,
        new Int32Array(1),
      );
      return { ...result, codes: buffers.map((b) => readFrameCode(b, WIDTH, HEIGHT)) };
    }

    it('reports the frame it identified in each buffer, and continues from where it stopped without seeking', async () => {
      const first = await run([{ start: CONTINUE, keep: [0, 3, 5] }]);
      expect(Array.from(first.delivered)).toEqual([0, 3, 5]);
      expect(first.codes).toEqual([0, 3, 5]);
      expect([first.position, first.continuable, first.seeks]).toEqual([5, true, 0]);
      const next = await run([{ start: CONTINUE, keep: [6, 9] }]);
      expect(Array.from(next.delivered)).toEqual([6, 9]);
      expect(next.codes).toEqual([6, 9]);
      expect(next.seeks).toBe(0);
    });

    it('refuses a plan that continues where the decoder cannot (TVL_INTERNAL), never seeking on its own', async () => {
      const at = await run([{ start: keyframeAtOrBefore(30), keep: [30] }]);
      expect([at.seeks, at.position]).toEqual([1, 30]);
      await expect(run([{ start: CONTINUE, keep: [20] }])).rejects.toMatchObject({ code: 'TVL_INTERNAL', frameIndex: 20 });
      // The session is still usable: a plan that seeks gets the frame.
      const back = await run([{ start: keyframeAtOrBefore(20), keep: [20, 21] }]);
      expect(back.codes).toEqual([20, 21]);
      expect(Array.from(back.delivered)).toEqual([20, 21]);
    });

    it('a run planned ahead of other calls continues only from the frame it names, else seeks where it says', async () => {
      await run([{ start: keyframeAtOrBefore(30), keep: [30] }]);
      // Planned from 30, and the decoder is there: it continues.
      const on = await run([{ start: CONTINUE, keep: [33], orSeek: keyframeAtOrBefore(33), from: 30 }]);
      expect([on.codes, Array.from(on.delivered), on.seeks]).toEqual([[33], [33], 0]);
      // Planned from 40 (a call ahead should have left it there), but it is at 33: it seeks.
      const off = await run([{ start: CONTINUE, keep: [41], orSeek: keyframeAtOrBefore(41), from: 40 }]);
      expect([off.codes, Array.from(off.delivered), off.seeks]).toEqual([[41], [41], 1]);
      // Planned from 10, with the decoder past the frame: it seeks back, where a plain continue fails.
      const back = await run([{ start: CONTINUE, keep: [20, 22], orSeek: keyframeAtOrBefore(20), from: 10 }]);
      expect([back.codes, Array.from(back.delivered), back.seeks]).toEqual([[20, 22], [20, 22], 1]);
      // A place to seek to that is none is core's fault: TVL_INTERNAL, before decoding.
      await expect(run([{ start: CONTINUE, keep: [23], orSeek: 1000, from: 22 }])).rejects.toMatchObject({ code: 'TVL_INTERNAL' });
    });

    it('follows the keyframe the plan names', async () => {
      const plan = [
        { start: keyframeAtOrBefore(50), keep: [50] },
        { start: keyframeAtOrBefore(10), keep: [10, 14] },
      ];
      const result = await run(plan);
      expect(result.codes).toEqual([50, 10, 14]);
      expect(Array.from(result.delivered)).toEqual([50, 10, 14]);
      expect(result.seeks).toBe(2);
    });
  });
}
