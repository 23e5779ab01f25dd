#!/usr/bin/env node
// Takes the README's screenshot of the player in headless Chromium:
//   node examples/video-player/screenshot.mjs [out.png]   (default docs/video-player.png)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import { playerSample, startPlayer } from './server.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = process.argv[2] ?? path.join(root, 'docs/video-player.png');
const file = playerSample();
const player = await startPlayer({ file });
const browser = await chromium.launch({ executablePath: process.env.TVL_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 700, height: 520 } });
  await page.goto(player.url);
  await page.waitForSelector('body[data-shown="0"]');
  await page.$eval('#seek', (el) => {
    el.value = '137';
    el.dispatchEvent(new Event('input'));
  });
  await page.waitForSelector('body[data-shown="137"]');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await player.close();
}
