// sessions.test.mjs: "Waar bent u ingelogd?" in a real browser (Debian's Chromium through
// playwright-core), against a logeerd with the Drenthe demo data (the Python wrapper
// tests/integration/test_sessions_browser.py starts it). One caregiver signs in on two
// computers (two browser contexts): the first sees both, signs the second out (which is then
// sent to the sign-in page), signs in there again and is signed out by "Overal anders
// uitloggen" (by keyboard), and finally signs itself out. A planner finds the same page in the
// bed board's menu, the coordinator in the dashboard's header. 0 axe violations on every
// state; nothing scrolls sideways at 320 px.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const CAREGIVER = 'mantelzorger@demo.logeer.nl';
const PLANNER = 'planner@esdorp.demo.logeer.nl';
const COORDINATOR = 'aanjager@demo.logeer.nl';
const PASSWORD = process.env.LOGEER_PASSWORD;

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function logIn(page, email) {
  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => u.pathname !== '/inloggen.html', { timeout: 10000 });
}

async function openSessions(page, path = '/sessies.html') {
  await page.goto(BASE + path);
  await ready(page);
  await page.waitForSelector('#sessies-lijst li', { timeout: 10000 });
}

async function rows(page) {
  return page.$$eval('#sessies-lijst li', (lis) => lis.map((li) => li.querySelector('h3').textContent));
}

async function tabTo(page, selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

run(async (first) => {
  const problems = [];
  const a = await openPage(first, problems);
  const second = await openContext();
  const b = await openPage(second, problems);
  await logIn(a, CAREGIVER);
  await logIn(b, CAREGIVER);

  await a.goto(BASE + '/mijn-gegevens.html');
  await ready(a);
  check('Mijn gegevens links to "Waar bent u ingelogd?"',
    await a.isVisible('a[href="/sessies.html"]'));
  await a.click('a[href="/sessies.html"]');
  await ready(a);
  await a.waitForSelector('#sessies-lijst li');
  let names = await rows(a);
  check('both computers are listed, this one marked', names.length >= 2
    && names.filter((n) => n.includes('(dit apparaat)')).length === 1, names.join(' | '));
  check('the device is named in words', names.every((n) => /Chrome op Linux/.test(n)), names.join(' | '));
  await expectNoAxeViolations(check, a, 'sessions: two devices');

  // Sign out the other computer: its row's button, not this one's.
  const other = a.locator('#sessies-lijst li', { hasNot: a.locator('h3', { hasText: '(dit apparaat)' }) }).first();
  await other.locator('button').click();
  await a.waitForSelector('#sessies-melding:not([hidden])');
  check('the page says where it signed out', /U bent uitgelogd op/.test(await a.textContent('#sessies-melding')));
  check('focus moves to the message', await a.evaluate(() => document.activeElement.id === 'sessies-melding'));
  await expectNoAxeViolations(check, a, 'sessions: after signing one out');
  await b.goto(BASE + '/sessies.html');
  await b.waitForURL((u) => u.pathname === '/inloggen.html', { timeout: 10000 });
  check('the other computer is sent to the sign-in page', new URL(b.url()).pathname === '/inloggen.html');

  // Sign in there again, then "Overal anders uitloggen" by keyboard.
  await logIn(b, CAREGIVER);
  await openSessions(a);
  check('keyboard: Tab reaches "Overal anders uitloggen"', await tabTo(a, '#overal-uitloggen'));
  await a.keyboard.press('Enter');
  await a.waitForFunction(() => /ander/.test(document.getElementById('sessies-melding').textContent));
  check('the page says how many were signed out',
    /U bent op \d+ andere? apparat?en? uitgelogd|U bent op 1 ander apparaat uitgelogd/.test(await a.textContent('#sessies-melding')),
    await a.textContent('#sessies-melding'));
  names = await rows(a);
  check('only this computer is left', names.length === 1 && names[0].includes('(dit apparaat)'), names.join(' | '));
  check('the button for the others is gone', await a.isHidden('#overal-uitloggen'));
  await expectNoAxeViolations(check, a, 'sessions: only this device');
  await b.goto(BASE + '/sessies.html');
  await b.waitForURL((u) => u.pathname === '/inloggen.html', { timeout: 10000 });
  check('the other computer is signed out again', new URL(b.url()).pathname === '/inloggen.html');

  await a.setViewportSize({ width: 320, height: 800 });
  await openSessions(a);
  check('at 320 px nothing scrolls sideways', await noHorizontalScroll(a));
  await a.setViewportSize({ width: 1280, height: 900 });

  await openSessions(a);
  await a.click('#sessies-lijst li button');
  await a.waitForURL((u) => u.pathname === '/inloggen.html', { timeout: 10000 });
  check('signing out this computer leads to the sign-in page', new URL(a.url()).searchParams.get('uitgelogd') === '1');
  const me = await a.evaluate(async () => (await fetch('/v1/me', { credentials: 'same-origin' })).status);
  check('and the session is over (GET /v1/me: 401)', me === 401, String(me));

  // The planner finds the page in the bed board's menu.
  const third = await openContext();
  const c = await openPage(third, problems);
  await logIn(c, PLANNER);
  await c.goto(BASE + '/aanbieder/');
  await ready(c);
  await c.click('nav a[href="/aanbieder/sessies.html"]');
  await ready(c);
  await c.waitForSelector('#sessies-lijst li');
  check('the bed board menu marks Mijn sessies as the current page',
    await c.getAttribute('nav a[href="/aanbieder/sessies.html"]', 'aria-current') === 'page');
  names = await rows(c);
  check('the planner sees their own session', names.length === 1 && names[0].includes('(dit apparaat)'), names.join(' | '));
  await expectNoAxeViolations(check, c, 'sessions: bed board');

  // The coordinator reaches the same page from the dashboard's header.
  const fourth = await openContext();
  const d = await openPage(fourth, problems);
  await d.goto(BASE + '/dashboard/sessies.html');
  await d.waitForURL((u) => u.pathname === '/dashboard/', { timeout: 10000 });
  check('a visitor is sent to the dashboard to sign in', new URL(d.url()).pathname === '/dashboard/');
  await d.fill('#email', COORDINATOR);
  await d.fill('#password', PASSWORD);
  await d.click('#login-submit');
  await d.waitForSelector('#mijn-sessies:visible', { timeout: 15000 });
  await d.click('#mijn-sessies');
  await ready(d);
  await d.waitForSelector('#sessies-lijst li');
  names = await rows(d);
  check('the coordinator sees their own session', names.length === 1 && names[0].includes('(dit apparaat)'), names.join(' | '));
  check('the menu leads back to the dashboard', await d.isVisible('nav a[href="/dashboard/"]'));
  await expectNoAxeViolations(check, d, 'sessions: dashboard');

  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
