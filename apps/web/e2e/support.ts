import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** What every browser test shares: where things are, and Debian's chromium as the brief launches it. */
const here = dirname(fileURLToPath(import.meta.url));
export const webDist = resolve(here, '../dist');
export const sample = resolve(here, '../../../data');
export const artifacts = resolve(here, '../test-artifacts');

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Debian's chromium, headless, with the screenshot folder ready. */
export function launchChromium(): Promise<Browser> {
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
}
