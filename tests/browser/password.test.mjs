// password.test.mjs: "Wachtwoord wijzigen" in a real browser (Debian's Chromium through
// playwright-core), against a logeerd with the Drenthe demo data (the Python wrapper
// tests/integration/test_password_browser.py starts it and checks the database afterwards). A
// caregiver signed in on two computers reaches the page from Mijn gegevens; the page refuses a
// repeat that differs and a wrong current password in Dutch next to the field, then changes
// the password; the other computer is signed out, this one stays. A planner finds the page
// from Mijn sessies. 0 axe violations on every state; no script error or CSP violation.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const CAREGIVER = 'mantelzorger2@demo.logeer.nl';
const PLANNER = 'planner@hunzehof.demo.logeer.nl';
const PASSWORD = process.env.LOGEER_PASSWORD;
const NEW = 'een-nieuw-en-lang-wachtwoord';

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

async function fillIn(page, current, next, again) {
  await page.fill('#current_password', current);
  await page.fill('#new_password', next);
  await page.fill('#new_password2', again);
  await page.click('#wijzigen button[type="submit"]');
}

run(async (first) => {
  const problems = [];
  const a = await openPage(first, problems);
  const b = await openPage(await openContext(), problems);
  await logIn(a, CAREGIVER);
  await logIn(b, CAREGIVER);

  await a.goto(BASE + '/mijn-gegevens.html');
  await ready(a);
  await a.click('a[href="/wachtwoord-wijzigen.html"]');
  await ready(a);
  await a.waitForSelector('body[data-geladen="true"]');
  await expectNoAxeViolations(check, a, 'password: empty form');

  await fillIn(a, PASSWORD, NEW, NEW + 'x');
  await a.waitForSelector('#new_password2-error');
  check('a repeat that differs is said next to the field',
    /niet hetzelfde/.test(await a.textContent('#new_password2-error')));
  await expectNoAxeViolations(check, a, 'password: repeat differs');

  await fillIn(a, 'niet-mijn-wachtwoord', NEW, NEW);
  await a.waitForSelector('#current_password-error');
  check('a wrong current password is said in Dutch next to the field',
    /niet uw huidige wachtwoord/.test(await a.textContent('#current_password-error')),
    await a.textContent('#current_password-error'));
  await expectNoAxeViolations(check, a, 'password: wrong current password');

  await fillIn(a, PASSWORD, NEW, NEW);
  await a.waitForSelector('#gelukt:not([hidden])');
  check('the page says it is saved and that the other computer was signed out',
    /opgeslagen\. U bent op 1 ander apparaat uitgelogd\./.test(await a.textContent('#gelukt')),
    await a.textContent('#gelukt'));
  check('focus moves to the message', await a.evaluate(() => document.activeElement.id === 'gelukt'));
  await expectNoAxeViolations(check, a, 'password: changed');
  const here = await a.evaluate(async () => (await fetch('/v1/me')).status);
  check('this computer stays signed in', here === 200, String(here));
  const there = await b.evaluate(async () => (await fetch('/v1/me')).status);
  check('the other computer is signed out', there === 401, String(there));
  await a.setViewportSize({ width: 320, height: 800 });
  check('at 320 px nothing scrolls sideways', await noHorizontalScroll(a));

  const c = await openPage(await openContext(), problems);
  await logIn(c, PLANNER);
  await c.goto(BASE + '/aanbieder/sessies.html');
  await ready(c);
  await c.click('a[href="/wachtwoord-wijzigen.html"]');
  await ready(c);
  check('a planner reaches the page from Mijn sessies, with the bed board menu',
    await c.isVisible('nav a[href="/aanbieder/sessies.html"]'));
  await expectNoAxeViolations(check, c, 'password: planner');
  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
