// api-keys.test.mjs: "API-sleutels" on the bed board in a real browser (Debian's Chromium
// through playwright-core), against a logeerd with the Drenthe demo data (the Python wrapper
// tests/integration/test_api_keys_browser.py starts it and checks the database afterwards). A
// planner finds the page in the menu, makes a key by keyboard with one right, sees it once,
// the key works for that right and not for another, "Laatst gebruikt" shows the use, and the
// key is withdrawn after a confirmation, after which it is refused. 0 axe violations on every
// state; nothing scrolls sideways at 320 px; no script error or CSP violation.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openPage, run } from './lib/run.mjs';

const PLANNER = 'planner@esdorp.demo.logeer.nl';
const PASSWORD = process.env.LOGEER_PASSWORD;

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function tabTo(page, selector) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

async function withKey(key, path) {
  const resp = await fetch(BASE + path, { headers: { Authorization: 'Bearer ' + key } });
  return resp.status;
}

async function loaded(page, n) {
  await page.waitForFunction((want) => Number(document.body.dataset.sleutels || 0) >= want, n, { timeout: 10000 });
}

run(async (ctx) => {
  const problems = [];
  const page = await openPage(ctx, problems);
  await page.goto(BASE + '/inloggen.html?terug=%2Faanbieder%2F');
  await ready(page);
  await page.fill('#email', PLANNER);
  await page.fill('#password', PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => u.pathname.startsWith('/aanbieder'), { timeout: 10000 });
  await ready(page);
  check('the board menu has "API-sleutels"', await page.isVisible('a.nav__link[href="/aanbieder/sleutels.html"]'));
  await page.click('a.nav__link[href="/aanbieder/sleutels.html"]');
  await ready(page);
  await page.waitForSelector('body[data-geladen="true"]');
  check('without keys the page says so', await page.isVisible('#geen-sleutels'));
  await expectNoAxeViolations(check, page, 'api keys: none yet');

  // An empty form is refused with the reasons, and nothing is made.
  await page.click('#sleutel-maken');
  await page.waitForSelector('.alert--error:not([hidden]), [aria-invalid="true"]');
  check('an empty form names what is missing', /naam/i.test(await page.textContent('#sleutel-form')));
  await expectNoAxeViolations(check, page, 'api keys: form errors');

  // Fill in by keyboard only: name, one right, submit with Enter.
  check('the name field is reachable by Tab', await tabTo(page, '#name'));
  await page.keyboard.type('Planningssysteem De Es');
  check('the right "Vrije bedden lezen" is reachable by Tab', await tabTo(page, '#recht-capacity-read'));
  await page.keyboard.press('Space');
  check('the button is reachable by Tab', await tabTo(page, '#sleutel-maken'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#geheim:not([hidden])', { timeout: 10000 });
  const key = await page.inputValue('#geheim-waarde');
  check('the key is shown once, in full', /^lk_[A-Za-z0-9_-]{43}$/.test(key), key);
  check('focus moves to the key', await page.evaluate(() => document.activeElement.id === 'geheim'));
  check('the list shows the new key with its right', /Vrije bedden lezen/.test(await page.textContent('#sleutel-lijst'))
    && /Nog nooit/.test(await page.textContent('#sleutel-lijst')));
  await expectNoAxeViolations(check, page, 'api keys: key shown once');
  await page.click('#geheim-klaar');
  check('after "bewaard" the key is gone from the page', (await page.inputValue('#geheim-waarde')) === ''
    && !(await page.content()).includes(key));

  check('the key reads its own pools: 200', (await withKey(key, '/v1/pools')) === 200);
  check('the key may not read stays: 403', (await withKey(key, '/v1/stays')) === 403);
  await page.reload();
  await ready(page);
  await loaded(page, 1);
  const used = await page.textContent('.sleutel__gebruikt');
  check('"Laatst gebruikt" shows the use', !/Nog nooit/.test(used), used);

  await page.setViewportSize({ width: 320, height: 800 });
  check('nothing scrolls sideways at 320 px', await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });

  // Withdraw: ask first; "Nee" keeps it, "Ja" withdraws it.
  await page.click('[data-actie="intrekken"]');
  await page.waitForSelector('.bevestig');
  await expectNoAxeViolations(check, page, 'api keys: confirm withdrawal');
  await page.click('[data-actie="nee"]');
  check('"Nee" keeps the key and returns focus', await page.evaluate(() => document.activeElement.dataset.actie === 'intrekken'));
  check('the key still works', (await withKey(key, '/v1/pools')) === 200);
  await page.click('[data-actie="intrekken"]');
  await page.click('[data-actie="ja-intrekken"]');
  await page.waitForSelector('#sleutel-melding:not([hidden])');
  check('the page says it is withdrawn', /ingetrokken/.test(await page.textContent('#sleutel-melding')));
  check('the key is refused at once: 401', (await withKey(key, '/v1/pools')) === 401);
  check('the withdrawn key is listed apart', /Ingetrokken en verlopen sleutels \(1\)/.test(await page.textContent('#sleutel-lijst')));
  await expectNoAxeViolations(check, page, 'api keys: after withdrawal');
  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
