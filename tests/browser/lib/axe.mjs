// lib/axe.mjs: accessibility checks for every browser test. Runs axe-core (through
// @axe-core/playwright, pinned in package.json) on the page as it is now, limited to the
// WCAG 2.1 A and AA rules the Dutch public sector must meet, and reports each violation with
// the elements it concerns. Call it on every page and every state a test reaches.
import { AxeBuilder } from '@axe-core/playwright';

export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// One line per violation: 'rule (impact): selector, selector', empty when there are none.
export async function axeViolations(page) {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  return results.violations.map((v) => `${v.id} (${v.impact}): ` +
    v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', '));
}

// check is the test's own check(name, ok, detail) function.
export async function expectNoAxeViolations(check, page, label) {
  const found = await axeViolations(page);
  return check(`axe: ${label} has no WCAG 2.1 A/AA violations`, found.length === 0, found.join(' | '));
}
