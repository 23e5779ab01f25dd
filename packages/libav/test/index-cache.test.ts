import '@tensorflow/tfjs-backend-cpu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VideoLoader } from '@tvl/core';
import { makeIndexedClip, readFrameCode } from '@tvl/testkit';
import '@tvl/libav';

const clip = () => makeIndexedClip({ codec: 'mpeg4', container: 'avi', bframes: 2 }); // its index is decoded at open
const entries = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.tvlidx'));

async function expectExact(vl: VideoLoader): Promise<void> {
  const request = [vl.nFrames - 1, 0, 17, 16, 42];
  const frames = await vl.selectRawFrames(request);
  expect(frames.map((f) => readFrameCode(f.data, f.width, f.height))).toEqual(request);
}

describe('persistent index (indexCache)', () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tvl-index-cache-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the second open reads the index the first one stored, and frames stay exact', async () => {
    const first = await VideoLoader.open(clip(), { indexCache: dir });
    expect(first.frameIndex.fromCache).toBe(false);
    await first.close();
    expect(entries(dir)).toHaveLength(1);
    const second = await VideoLoader.open(clip(), { indexCache: dir });
    try {
      expect(second.frameIndex.fromCache).toBe(true);
      expect(second.nFrames).toBe(60);
      expect(second.frameIndex.identity).toBe('position');
      await expectExact(second);
    } finally {
      await second.close();
    }
  });

  it("keeps 'packets' and 'decoded' indexes apart; TVL_INDEX_CACHE works as the option does", async () => {
    const file = makeIndexedClip({ codec: 'h264', container: 'mkv', bframes: 2 });
    process.env.TVL_INDEX_CACHE = dir;
    try {
      await (await VideoLoader.open(file)).close();
      await (await VideoLoader.open(file, { index: 'decoded' })).close();
      expect(entries(dir)).toHaveLength(2);
      const decoded = await VideoLoader.open(file, { index: 'decoded' });
      expect([decoded.frameIndex.fromCache, decoded.frameIndex.source]).toEqual([true, 'decoded']);
      await decoded.close();
    } finally {
      delete process.env.TVL_INDEX_CACHE;
    }
  });

  it('a damaged entry is rebuilt (and rewritten), never trusted', async () => {
    await (await VideoLoader.open(clip(), { indexCache: dir })).close();
    const [entry] = entries(dir);
    const bytes = fs.readFileSync(path.join(dir, entry));
    for (const at of [0, 100, bytes.length - 3]) {
      const damaged = Buffer.from(bytes);
      damaged[at] ^= 0x5a;
      fs.writeFileSync(path.join(dir, entry), damaged);
      const vl = await VideoLoader.open(clip(), { indexCache: dir });
      try {
        expect(vl.frameIndex.fromCache).toBe(false);
        await expectExact(vl);
      } finally {
        await vl.close();
      }
    }
    fs.writeFileSync(path.join(dir, entry), bytes.subarray(0, 50));
    await (await VideoLoader.open(clip(), { indexCache: dir })).close();
    const again = await VideoLoader.open(clip(), { indexCache: dir });
    expect(again.frameIndex.fromCache).toBe(true);
    await again.close();
  });

  it('a file that changed gets a new entry (path, size, mtime and contents are the key)', async () => {
    const copy = path.join(dir, 'copy.avi');
    fs.copyFileSync(clip(), copy);
    await (await VideoLoader.open(copy, { indexCache: dir })).close();
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(copy, later, later);
    const vl = await VideoLoader.open(copy, { indexCache: dir });
    expect(vl.frameIndex.fromCache).toBe(false);
    await vl.close();
    expect(entries(dir)).toHaveLength(2);
  });

  it('concurrent opens of one file with one cache: all exact, no temporary files left', async () => {
    const loaders = await Promise.all(Array.from({ length: 4 }, () => VideoLoader.open(clip(), { indexCache: dir })));
    try {
      for (const vl of loaders) await expectExact(vl);
    } finally {
      await Promise.all(loaders.map((vl) => vl.close()));
    }
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(entries(dir)).toHaveLength(1);
  });
});
