// lib/axe.mjs: accessibility checks for every browser test. Runs axe-core (pinned in
// package.json) on the page as it is now, limited to the WCAG 2.1 A and AA rules the Dutch
// public sector must meet, and reports each violation with the elements it concerns. Call it
// on every page and every state a test reaches.
//
// axe runs in the page itself, put there once per document. @axe-core/playwright, used
// before, put axe's 550 KB into the page again on every check and opened a blank page to
// gather the results in (for cross-origin frames, which these pages do not have): 2.6 s a
// check on the bed board against 0.5 s now, for the same rules. Only violations are gathered
// in full; passes and "needs review" were never reported here.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function axeResults(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object')))
    await page.evaluate(AXE_SOURCE);
  return page.evaluate((tags) => window.axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations']
  }), WCAG_TAGS);
}

// One line per violation: 'rule (impact): selector, selector', empty when there are none.
export async function axeViolations(page) {
  const results = await axeResults(page);
  return results.violations.map((v) => `${v.id} (${v.impact}): ` +
    v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', '));
}

// check is the test's own check(name, ok, detail) function.
export async function expectNoAxeViolations(check, page, label) {
  const found = await axeViolations(page);
  return check(`axe: ${label} has no WCAG 2.1 A/AA violations`, found.length === 0, found.join(' | '));
}

// The checker itself: a page with three known violations must show each, and the same page
// repaired none, so that "0 violations" elsewhere can be believed.
export async function expectAxeFindsViolations(check, context) {
  const page = await context.newPage();
  const broken = '<!doctype html><html lang="nl"><head><title>Proef</title></head><body><main>' +
    '<h1>Proef</h1><img src="data:,"><button></button>' +
    '<p style="color:#bbb;background:#fff">grijs op wit</p></main></body></html>';
  await page.setContent(broken);
  const found = (await axeViolations(page)).map((v) => v.split(' ')[0]);
  check('axe itself finds a missing alt text, an unnamed button and too little contrast',
    ['image-alt', 'button-name', 'color-contrast'].every((r) => found.includes(r)), found.join(', '));
  await page.setContent(broken.replace('<img src="data:,">', '<img src="data:," alt="Proef">')
    .replace('<button></button>', '<button>Verstuur</button>').replace('#bbb', '#333'));
  const after = await axeViolations(page);
  check('and none once the page is repaired', after.length === 0, after.join(' | '));
  await page.close();
}
