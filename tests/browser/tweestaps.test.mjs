// tweestaps.test.mjs: two-step sign-in in a real browser (Debian's Chromium through
// playwright-core) against a logeerd that requires a second factor of staff (the Python
// wrapper tests/integration/test_tweestaps_browser.py starts it). A planner signs in, is sent
// to the set-up and can reach nothing else, sets up TOTP with codes computed by Debian's
// oathtool (an implementation independent of the server's liboath), keeps the recovery codes,
// signs out and in with password + code; a reused code and a wrong code are refused; a
// recovery code works once; a sensitive action after LOGEER_STEP_UP_S opens the step-up
// dialog, which takes a fresh code and retries. Keyboard only where a person would type; 0
// axe violations on every new page and state.
import { execFileSync } from 'node:child_process';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openPage, run } from './lib/run.mjs';

const PLANNER = 'planner@esdorp.demo.logeer.nl';
const PASSWORD = process.env.LOGEER_PASSWORD;
const STEP_UP_S = Number(process.env.LOGEER_STEP_UP_S || 30);

// The code oathtool computes for the time step that holds unix time `at` (seconds).
function oathtool(secret, at = Date.now() / 1000) {
  const when = '@' + Math.floor(at);
  return execFileSync('oathtool', ['--totp', '-b', '-N', when, secret], { encoding: 'utf8' }).trim();
}

// Waits out the last seconds of a 30-second step, so that the code computed now is still the
// server's current one when it arrives.
async function freshStep() {
  const left = 30 - (Date.now() / 1000) % 30;
  if (left < 3) await new Promise((r) => setTimeout(r, (left + 0.3) * 1000));
  return Math.floor(Date.now() / 1000 / 30);
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
}

async function logIn(page, back = '/aanbieder/') {
  await page.goto(BASE + '/inloggen.html?terug=' + encodeURIComponent(back));
  await ready(page);
  await page.fill('#email', PLANNER);
  await page.fill('#password', PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => u.pathname !== '/inloggen.html', { timeout: 15000 });
}

async function logOut(page) {
  await page.click('#uitloggen');
  await page.waitForURL((u) => u.searchParams.get('uitgelogd') === '1', { timeout: 15000 });
}

async function summary(page) {
  await page.waitForSelector('.error-summary', { timeout: 10000 });
  return page.textContent('.error-summary');
}

// Types a code on the second-step page and sends it with Enter, as a person would.
async function sendCode(page, code) {
  await page.fill('#tweede-stap input[name="code"]', code);
  await page.press('#tweede-stap input[name="code"]', 'Enter');
}

run(async (ctx) => {
  const problems = [];
  const page = await openPage(ctx, problems);

  // 1. Password only: the planner lands on the set-up and can do nothing else.
  await logIn(page);
  check('after the password the planner lands on the set-up page',
    new URL(page.url()).pathname === '/tweestaps.html', page.url());
  await ready(page);
  check('the page says it is required', await page.isVisible('#verplicht'));
  check('no menu leads elsewhere', (await page.$$('nav a')).length === 0);
  await expectNoAxeViolations(check, page, 'set-up, required, start');
  await page.goto(BASE + '/aanbieder/');
  await page.waitForURL((u) => u.pathname === '/tweestaps.html', { timeout: 15000 });
  check('the bed board sends the planner back to the set-up', new URL(page.url()).pathname === '/tweestaps.html');
  await ready(page);

  // 2. Start by keyboard; the QR code and the key as text in groups of four.
  await page.focus('#instellen-beginnen');
  await page.keyboard.press('Enter');
  await page.waitForSelector('svg.qr', { timeout: 10000 });
  const shown = (await page.textContent('#sleutel')).trim();
  check('the key is shown in groups of four', /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/.test(shown), shown);
  const secret = shown.replace(/ /g, '');
  check('the QR code has a text alternative',
    (await page.getAttribute('svg.qr', 'aria-label') || '').includes('QR-code'));
  await expectNoAxeViolations(check, page, 'set-up: QR code and key');

  // 3. A wrong code first, then the right one.
  const step = await freshStep();
  await page.fill('#eerste-code', oathtool(secret, (step + 5) * 30));
  await page.press('#eerste-code', 'Enter');
  check('a wrong code is refused in plain Dutch', /klopt niet/.test(await summary(page)));
  await expectNoAxeViolations(check, page, 'set-up: wrong code');
  const first = oathtool(secret, step * 30);
  await page.fill('#eerste-code', first);
  await page.press('#eerste-code', 'Enter');
  await page.waitForSelector('#herstelcodes li', { timeout: 10000 });
  const codes = await page.$$eval('#herstelcodes li', (lis) => lis.map((li) => li.textContent.trim()));
  check('ten recovery codes are shown once', codes.length === 10 && new Set(codes).size === 10, codes.join(' '));
  check('with print and copy buttons', await page.isVisible('button:has-text("Afdrukken")')
    && await page.isVisible('button:has-text("Kopiëren")'));
  check('focus moves to the recovery codes', await page.evaluate(() => document.activeElement.id === 'herstelcodes-titel'));
  await expectNoAxeViolations(check, page, 'set-up: recovery codes');
  await page.setViewportSize({ width: 320, height: 800 });
  check('at 320 px nothing scrolls sideways', await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click('#verder');
  await page.waitForURL((u) => u.pathname === '/aanbieder/', { timeout: 15000 });
  await ready(page);
  check('then the bed board opens', new URL(page.url()).pathname === '/aanbieder/');

  // 4. Sign out and in: the second step asks for a code; a reused and a wrong one are refused.
  await logOut(page);
  await logIn(page);
  check('after the password the planner is asked for the second step',
    new URL(page.url()).pathname === '/tweede-stap.html', page.url());
  await ready(page);
  await page.waitForSelector('#tweede-stap input[name="code"]');
  await expectNoAxeViolations(check, page, 'second step');
  await sendCode(page, first);
  check('the code already used is refused', /al gebruikt/.test(await summary(page)), await page.textContent('.error-summary'));
  await expectNoAxeViolations(check, page, 'second step: code already used');
  const now = await freshStep();
  await sendCode(page, oathtool(secret, (now + 6) * 30));
  await page.waitForFunction(() => /klopt niet/.test(document.querySelector('.error-summary')?.textContent || ''));
  check('a wrong code is refused', true);
  // One step ahead is within the drift: no need to wait for the next step.
  const later = Math.max(now, step) + 1;
  await sendCode(page, oathtool(secret, later * 30));
  await page.waitForURL((u) => u.pathname === '/aanbieder/', { timeout: 15000 });
  await ready(page);
  check('a fresh code opens the bed board', new URL(page.url()).pathname === '/aanbieder/');

  // 5. A recovery code works once.
  await logOut(page);
  await logIn(page);
  await ready(page);
  await page.check('#tweede-stap input[value="herstelcode"]');
  check('the recovery code has its own label',
    /Herstelcode/.test(await page.textContent('#tweede-stap label.field__label')));
  await expectNoAxeViolations(check, page, 'second step: recovery code chosen');
  await sendCode(page, codes[0]);
  await page.waitForURL((u) => u.pathname === '/aanbieder/', { timeout: 15000 });
  await ready(page);
  check('a recovery code opens the bed board', true);
  await logOut(page);
  await logIn(page);
  await ready(page);
  await page.check('#tweede-stap input[value="herstelcode"]');
  await sendCode(page, codes[0]);
  check('the same recovery code does not work twice', /klopt niet/.test(await summary(page)));
  await sendCode(page, codes[1]);
  await page.waitForURL((u) => u.pathname === '/aanbieder/', { timeout: 15000 });
  await ready(page);
  const provenAt = Date.now();

  // 6. The factor list from the bed board's menu; a sensitive action after LOGEER_STEP_UP_S
  // asks for a fresh code in a dialog and then goes on.
  await page.click('nav a[href="/tweestaps.html"]');
  await ready(page);
  await page.waitForSelector('#factoren-lijst li', { timeout: 10000 });
  check('the list shows the app', /App met codes/.test(await page.textContent('#factoren-lijst')));
  check('and eight recovery codes left', /nog 8 herstelcodes/.test(await page.textContent('#herstelcodes-over')));
  await expectNoAxeViolations(check, page, 'factor list');
  const wait = provenAt + (STEP_UP_S + 2) * 1000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await page.focus('#nieuwe-herstelcodes');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog[open]', { timeout: 10000 });
  check('the step-up dialog opens with focus in the code field',
    await page.evaluate(() => document.activeElement.name === 'code' && Boolean(document.activeElement.closest('dialog'))));
  await expectNoAxeViolations(check, page, 'step-up dialog');
  const again = await freshStep();
  await page.fill('dialog input[name="code"]', oathtool(secret, Math.max(again, later + 1) * 30));
  await page.press('dialog input[name="code"]', 'Enter');
  await page.waitForSelector('#nieuwe-codes #herstelcodes li', { timeout: 15000 });
  check('after the code the new recovery codes are shown', (await page.$$('#nieuwe-codes #herstelcodes li')).length === 10);
  check('the dialog is gone', (await page.$$('dialog')).length === 0);
  await expectNoAxeViolations(check, page, 'factor list: new recovery codes');

  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
