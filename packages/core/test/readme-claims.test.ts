/**
 * What the README promises about errors and options, checked against the code, so the two cannot
 * drift apart again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import * as core from '@tvl/core';
import { FrameIndex, TvlError, VideoLoader } from '@tvl/core';
import { registerBackend, unregisterBackend, type DecodeRequest } from '@tvl/core/backend';
import { fakeBackend } from './fake-backend.js';

const readme = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md'), 'utf8');

describe('README claims', () => {
  it('the error table names every code with the class that carries it', () => {
    const rows = new Map([...readme.matchAll(/^\| `(TVL_[A-Z_]+)` \| `(\w+)` \|/gm)].map((m) => [m[1], m[2]]));
    const codes = [
      'TVL_FILE_NOT_FOUND',
      'TVL_NOT_A_VIDEO',
      'TVL_NO_VIDEO_STREAM',
      'TVL_UNSUPPORTED_CODEC',
      'TVL_CORRUPT_DATA',
      'TVL_INEXACT_FRAME',
      'TVL_INDEX_OUT_OF_RANGE',
      'TVL_END_OF_VIDEO',
      'TVL_NO_BACKEND',
      'TVL_NO_CUDA_DEVICE',
      'TVL_CLOSED',
      'TVL_INVALID_ARGUMENT',
      'TVL_ABORTED',
      'TVL_IO_ERROR',
      'TVL_NATIVE_LOAD_FAILED',
      'TVL_NO_TFJS_BACKEND',
      'TVL_INTERNAL',
    ] as const satisfies readonly core.TvlErrorCode[];
    for (const code of codes) {
      expect(core.isTvlErrorCode(code)).toBe(true);
      const className = rows.get(code);
      expect({ code, className }).toEqual({ code, className: expect.any(String) });
      const error = core.makeError(code, 'x');
      const exported = (core as unknown as Record<string, unknown>)[className!];
      expect(error).toBeInstanceOf(exported as new () => TvlError);
    }
    // And the table has nothing the code lacks.
    for (const code of rows.keys()) expect(core.isTvlErrorCode(code)).toBe(true);
  });

  it('a malformed frame index is a TvlError too', () => {
    expect(() => new FrameIndex({ pts: new Float64Array(3), keyframe: new Uint8Array(2), lastFrameDuration: 0 })).toThrow(
      expect.objectContaining({ code: 'TVL_INVALID_ARGUMENT' }),
    );
  });

  it('maxBatchBytes bounds each native call of readFrames(n) as well', async () => {
    const calls: DecodeRequest[] = [];
    registerBackend(fakeBackend('fake', calls, { nFrames: 10 }));
    const frameBytes = 4 * 2 * 3 * 4; // float32 RGB
    const vl = await VideoLoader.open('clip', { backend: 'fake', maxBatchBytes: 3 * frameBytes });
    try {
      const frames = await vl.readFrames(8);
      expect(frames.map((t) => Math.round(t.dataSync()[0] * 255))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      frames.forEach((t) => t.dispose());
      expect(calls.map((c) => c.buffers.length)).toEqual([3, 3, 2]);
    } finally {
      await vl.close();
      unregisterBackend('fake');
    }
  });
});
