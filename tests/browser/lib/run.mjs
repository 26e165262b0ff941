// lib/run.mjs: what every browser test shares: a check() that prints ok/FAIL lines (the Python
// runner shows them), Debian's Chromium started through playwright-core with a throwaway
// profile, a watch on script errors and CSP violations, and the reflow check for narrow
// screens. Each test file calls run(async (ctx) => { ... }).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE = process.env.LOGEER_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let failures = 0;
let checks = 0;
export function check(name, ok, detail) {
  checks++;
  if (ok) {
    console.log(`ok    ${name}`);
  } else {
    failures++;
    console.log(`FAIL  ${name}${detail !== undefined ? ': ' + detail : ''}`);
  }
  return ok;
}

// Chromium logs every 4xx answer to fetch() as a console error; the pages expect some (401
// from GET /v1/me for a visitor, 422 for a form with errors) and handle them.
const EXPECTED_ANSWER = /^Failed to load resource: the server responded with a status of 4\d\d/;

// Opens a page and records every script error and console error (CSP violations are
// console errors) in problems.
export async function openPage(context, problems, viewport) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !EXPECTED_ANSWER.test(m.text())) problems.push('console: ' + m.text());
  });
  return page;
}

// True when the page does not scroll sideways (WCAG 1.4.10 reflow at 320 CSS px).
export async function noHorizontalScroll(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
}

// Every browser context opened by run() or openContext(), closed (and its profile removed)
// when the test ends.
const opened = [];

// A browser context with its own throwaway profile: its own cookies and storage, as a second
// person at a second computer.
export async function openContext() {
  const profile = mkdtempSync(join(tmpdir(), 'logeer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam'
  });
  opened.push({ context, profile });
  return context;
}

export function run(body) {
  const main = async () => {
    if (!BASE) {
      check('LOGEER_URL is set', false);
      return;
    }
    try {
      await body(await openContext());
    } finally {
      for (const { context, profile } of opened.reverse()) {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      }
    }
  };
  main().then(() => {
    console.log(`${checks - failures} passed, ${failures} failed`);
    process.exit(failures ? 1 : 0);
  }, (e) => {
    console.log(`FAIL  the browser test ran to the end: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  });
}
