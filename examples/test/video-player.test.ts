/**
 * The video player in a real browser: Debian's Chromium driven by playwright-core. Stepping,
 * seeking by slider and switching backend must each show exactly the frame the page says, read
 * back from the pixels on screen (the clip carries each frame's index as a bit grid).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import fs from 'node:fs';
import { makeIndexedClip, readFrameCode } from '@tvl/testkit';
// @ts-expect-error: plain JavaScript example, no type declarations
import { startPlayer } from '../video-player/server.mjs';

const CHROMIUM = process.env.TVL_CHROMIUM ?? '/usr/bin/chromium';

let browser: Browser;
let page: Page;
let player: { url: string; close(): Promise<void> };

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run make system-deps (or set TVL_CHROMIUM)`);
  player = await startPlayer({ file: makeIndexedClip({ codec: 'h264', container: 'mp4', frames: 60, bframes: 2 }) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
  await page.goto(player.url);
  await page.waitForSelector('body[data-shown="0"]');
});

it('refuses to start on a file it cannot play, with the TvlError (not an error page later)', async () => {
  await expect(startPlayer({ file: '/nonexistent/video.mp4' })).rejects.toMatchObject({ code: 'TVL_FILE_NOT_FOUND' });
});

afterAll(async () => {
  await browser?.close();
  await player?.close();
});

/** The frame index the page claims and the one its pixels carry. */
async function shown(): Promise<{ label: number; pixels: number }> {
  const { label, rgb, width, height } = await page.evaluate(() => {
    const canvas = document.getElementById('frame') as HTMLCanvasElement;
    const rgba = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb: number[] = [];
    for (let i = 0; i < rgba.length; i += 4) rgb.push(rgba[i], rgba[i + 1], rgba[i + 2]);
    return { label: Number(document.getElementById('index')!.textContent), rgb, width: canvas.width, height: canvas.height };
  });
  return { label, pixels: readFrameCode(Uint8Array.from(rgb), width, height) };
}

it('steps frame by frame: stepping to frame N shows frame N', async () => {
  for (let n = 1; n <= 3; n++) {
    await page.click('#next');
    await page.waitForSelector(`body[data-shown="${n}"]`);
    expect(await shown()).toEqual({ label: n, pixels: n });
  }
  await page.click('#prev');
  await page.waitForSelector('body[data-shown="2"]');
  expect(await shown()).toEqual({ label: 2, pixels: 2 });
});

it('seeks with the slider, and shows the pts', async () => {
  await page.$eval('#seek', (el) => {
    (el as HTMLInputElement).value = '47';
    el.dispatchEvent(new Event('input'));
  });
  await page.waitForSelector('body[data-shown="47"]');
  expect(await shown()).toEqual({ label: 47, pixels: 47 });
  expect(Number(await page.textContent('#pts'))).toBeCloseTo(47 / 25, 3);
});

it('quick key presses all count: 20 presses of the right arrow move 20 frames', async () => {
  await page.$eval('#seek', (el) => {
    (el as HTMLInputElement).value = '10';
    el.dispatchEvent(new Event('input'));
  });
  await page.waitForSelector('body[data-shown="10"]');
  // No waiting between presses: most arrive while a frame is still loading.
  for (let k = 0; k < 20; k++) await page.keyboard.press('ArrowRight');
  await page.waitForSelector('body[data-shown="30"]');
  expect(await shown()).toEqual({ label: 30, pixels: 30 });
  for (let k = 0; k < 5; k++) await page.keyboard.press('ArrowLeft');
  await page.waitForSelector('body[data-shown="25"]');
  expect(await shown()).toEqual({ label: 25, pixels: 25 });
});

it('plays with the next frames decoded ahead, pauses, and switches backend on the same frame', async () => {
  const before = Number(await page.evaluate(() => document.body.dataset.prefetched ?? '0'));
  await page.click('#play');
  await page.waitForFunction(() => Number(document.body.dataset.shown) >= 50);
  await page.click('#play'); // pause
  await page.waitForTimeout(100);
  const paused = await shown();
  expect(paused.pixels).toBe(paused.label);
  // Of the 25+ frames played from 25, most were decoded ahead while the previous one was shown.
  const prefetched = Number(await page.evaluate(() => document.body.dataset.prefetched)) - before;
  expect(prefetched).toBeGreaterThan((paused.label - 25) / 2);
  await page.selectOption('#backend', 'opencv');
  await page.waitForFunction(() => document.getElementById('decoder')!.textContent === 'opencv');
  expect(await shown()).toEqual(paused);
});
