// portal.test.mjs: the caregiver portal's shell in a real browser (Debian's Chromium through
// playwright-core) against a running logeerd with the Drenthe demo data. Proves: the start
// page, the registration and the login page load under the strict CSP without errors; a new
// caregiver registers (errors first: an error summary that takes focus and links to the
// fields), is logged in at once and sees their name in the header; the session is a cookie
// that script cannot read (no token in web storage); logging out clears it; logging in again
// works by keyboard alone (Tab and Enter); every page and state has 0 axe violations (WCAG 2.1
// A/AA); at 320 px nothing scrolls sideways.
//
// Run by tests/integration/test_portal_browser.py, which starts the server; by hand:
//   LOGEER_URL=http://127.0.0.1:8080 node tests/browser/portal.test.mjs
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { expectAxeFindsViolations, expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openPage, run } from './lib/run.mjs';

const SHOTS = (process.env.LOGEER_SCREENSHOTS || '').split(',').filter(Boolean);
const NAME = 'Anne de Vries';
const EMAIL = `anne.${Date.now()}@voorbeeld.nl`;
const PASSWORD = 'mijn lange wachtwoord 42';

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function headerName(page) {
  return (await page.$('#ingelogd-als')) ? page.textContent('#ingelogd-als') : null;
}

async function sessionCookies(context) {
  const all = await context.cookies(BASE);
  return Object.fromEntries(all.map((c) => [c.name, c]));
}

async function shoot(page, suffix) {
  for (const shot of SHOTS) {
    const path = shot.replace(/\.png$/, `-${suffix}.png`);
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path, fullPage: true });
    console.log(`      screenshot saved to ${path}`);
  }
}

run(async (context) => {
  const problems = [];
  await expectAxeFindsViolations(check, context);
  const page = await openPage(context, problems);

  // ---- start page, not logged in ----
  const resp = await page.goto(BASE + '/', { waitUntil: 'load' });
  check('GET / answers 200', resp.status() === 200, resp.status());
  const csp = resp.headers()['content-security-policy'] || '';
  check('the start page comes with a strict CSP (no inline script, no framing)',
    csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'") && !csp.includes('unsafe-inline'), csp);
  await ready(page);
  check('the start page says what logeerzorg is', /logeren/i.test(await page.textContent('main')));
  const body = await page.textContent('main');
  check('the start page names every way it is paid (Wmo, Wlz, Zvw, pgb, zelf betalen)',
    ['Wmo', 'Wlz', 'Zvw', 'pgb', 'Zelf betalen'].every((w) => body.includes(w)));
  for (const href of ['/zoeken.html', '/inloggen.html', '/registreren.html'])
    check(`the start page links to ${href}`, await page.isVisible(`main a[href="${href}"]`));
  check('the header shows log in and register, and nobody logged in',
    await page.isVisible('header a[href="/inloggen.html"]') && (await headerName(page)) === null);
  await expectNoAxeViolations(check, page, 'start page (visitor)');
  await shoot(page, 'start');

  // ---- register: errors first ----
  await page.click('main a[href="/registreren.html"]');
  await ready(page);
  await page.waitForSelector('#municipality option[value="GM0106"]', { state: 'attached' });
  await expectNoAxeViolations(check, page, 'registration page');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.error-summary');
  const summaryFocused = await page.evaluate(() => document.activeElement &&
    document.activeElement.classList.contains('error-summary'));
  check('an empty registration shows an error summary that takes focus', summaryFocused);
  check('the summary is role=alert', await page.getAttribute('.error-summary', 'role') === 'alert');
  const links = await page.$$eval('.error-summary a', (as) => as.map((a) => a.getAttribute('href')));
  check('the summary links to the email, municipality and password fields',
    ['#email', '#municipality', '#password'].every((h) => links.includes(h)), links.join(' '));
  check('each field with an error is aria-invalid with its message in aria-describedby',
    await page.getAttribute('#email', 'aria-invalid') === 'true' &&
    (await page.getAttribute('#email', 'aria-describedby') || '').includes('email-error') &&
    /e-mailadres/.test(await page.textContent('#email-error')));
  await page.click('.error-summary a[href="#password"]');
  check('a summary link moves focus to its field',
    await page.evaluate(() => document.activeElement.id) === 'password');
  await expectNoAxeViolations(check, page, 'registration page with errors');

  // A too-common password comes back from the API as a field error, in Dutch.
  await page.fill('#display_name', NAME);
  await page.fill('#email', EMAIL);
  await page.selectOption('#municipality', 'GM0106');
  await page.fill('#password', 'password1234');
  await page.click('button[type="submit"]');
  await page.waitForSelector('#password-error');
  const pwError = await page.textContent('#password-error');
  check('the API\'s password refusal shows as a Dutch sentence at the field, not JSON',
    /wachtwoord/i.test(pwError) && !/[{}]/.test(await page.textContent('main')), pwError);

  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/\?welkom=1$/), page.click('button[type="submit"]')]);
  await ready(page);
  check('after registering the caregiver is logged in and sees their name in the header',
    (await headerName(page)) === NAME, await headerName(page));
  check('the start page confirms the new account', /account is klaar/.test(await page.textContent('#melding')));
  await expectNoAxeViolations(check, page, 'start page (logged in)');

  // ---- the cookie session ----
  const cookies = await sessionCookies(context);
  check('the session cookie is HttpOnly and SameSite=Strict',
    cookies.logeer_session && cookies.logeer_session.httpOnly && cookies.logeer_session.sameSite === 'Strict');
  const seen = await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length,
    session: sessionStorage.length }));
  check('script sees the CSRF cookie but never the session token, and web storage is empty',
    seen.cookie.includes('logeer_csrf=') && !seen.cookie.includes('logeer_session') &&
    seen.local === 0 && seen.session === 0, JSON.stringify(seen));

  // ---- log out ----
  await Promise.all([page.waitForURL(/uitgelogd=1/), page.click('#uitloggen')]);
  await ready(page);
  check('logging out returns to the start page, saying so, with nobody logged in',
    /uitgelogd/.test(await page.textContent('#melding')) && (await headerName(page)) === null);
  const after = await sessionCookies(context);
  check('logging out removed both cookies', !after.logeer_session && !after.logeer_csrf,
    Object.keys(after).join(','));

  // ---- login: a wrong password, then keyboard only ----
  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  await expectNoAxeViolations(check, page, 'login page');
  await page.fill('#email', EMAIL);
  await page.fill('#password', 'niet mijn wachtwoord');
  await page.click('button[type="submit"]');
  await page.waitForSelector('.error-summary');
  check('a wrong password is one plain Dutch sentence',
    /e-mailadres of het wachtwoord klopt niet/.test(await page.textContent('.error-summary')));
  await expectNoAxeViolations(check, page, 'login page with an error');

  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  let tabs = 0;
  while (tabs < 20 && await page.evaluate(() => document.activeElement.id) !== 'email') {
    await page.keyboard.press('Tab');
    tabs++;
  }
  check('Tab reaches the email field', await page.evaluate(() => document.activeElement.id) === 'email', `${tabs} tabs`);
  await page.keyboard.type(EMAIL);
  await page.keyboard.press('Tab');
  check('Tab goes on to the password field', await page.evaluate(() => document.activeElement.id) === 'password');
  await page.keyboard.type(PASSWORD);
  await Promise.all([page.waitForURL(BASE + '/'), page.keyboard.press('Enter')]);
  await ready(page);
  check('logging in by keyboard alone (Tab, Enter) works and shows the name',
    (await headerName(page)) === NAME, await headerName(page));
  await shoot(page, 'ingelogd');

  // ---- 320 px: reflow without sideways scrolling, logged in and out ----
  const narrow = await openPage(context, problems, { width: 320, height: 640 });
  for (const path of ['/', '/inloggen.html', '/registreren.html']) {
    await narrow.goto(BASE + path);
    await ready(narrow);
    check(`at 320 px ${path} does not scroll sideways (logged in)`, await noHorizontalScroll(narrow));
    await expectNoAxeViolations(check, narrow, `${path} at 320 px`);
  }
  await narrow.click('#uitloggen');
  await narrow.waitForURL(/uitgelogd=1/);
  await ready(narrow);
  check('at 320 px the start page does not scroll sideways (visitor)', await noHorizontalScroll(narrow));
  await narrow.goto(BASE + '/registreren.html');
  await ready(narrow);
  await narrow.click('button[type="submit"]');
  await narrow.waitForSelector('.error-summary');
  check('at 320 px the registration errors do not make the page scroll sideways', await noHorizontalScroll(narrow));
  await shoot(narrow, 'telefoon');

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
});
