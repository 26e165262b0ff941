// sso.test.mjs: single sign-on in a real browser (Debian's Chromium through playwright-core),
// against a logeerd with the Drenthe demo data and a REAL OpenID Provider (oidc-provider, with
// its own login and consent pages), both started by tests/integration/test_sso_browser.py.
// The admin registers Esdorp's issuer on /dashboard/organisatie-inloggen.html; a planner of
// Esdorp then signs in on the sign-in page with "Inloggen met uw organisatie", by keyboard,
// and lands on the bed board signed in; a stranger from the same domain comes back to the
// sign-in page with a clear message and no account. 0 axe violations on every page and state
// of ours (the provider's development pages are not ours and are not checked).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const ADMIN = 'beheer@demo.logeer.nl';
const PASSWORD = process.env.LOGEER_PASSWORD;
const OP = process.env.LOGEER_SSO_ISSUER;
const CLIENT_SECRET = process.env.LOGEER_SSO_CLIENT_SECRET;

// Screenshots to look at: LOGEER_SCREENSHOTS names files, each gets -<state> before .png.
const SHOTS = (process.env.LOGEER_SCREENSHOTS || '').split(',').filter(Boolean);
async function shoot(page, suffix) {
  for (const shot of SHOTS) {
    const path = shot.replace(/\.png$/, `-${suffix}.png`);
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path, fullPage: true });
    console.log(`      screenshot saved to ${path}`);
  }
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function passwordLogIn(page, email) {
  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => u.pathname !== '/inloggen.html', { timeout: 10000 });
}

async function tabTo(page, selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

// From the sign-in page, by keyboard only, through the provider's own pages.
async function organisationSignIn(page, email) {
  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  const reached = await tabTo(page, '#werk-email');
  await page.keyboard.type(email);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.origin === OP, { timeout: 15000 });
  await page.waitForSelector('input[name="password"]', { timeout: 15000 });
  await page.fill('input[name="login"]', email);
  await page.fill('input[name="password"]', 'wachtwoord-bij-de-organisatie');
  await page.click('button[type="submit"]');
  // The provider asks for consent the first time; then it sends the browser back.
  await page.waitForURL((u) => u.origin === BASE || u.pathname.startsWith('/interaction/'),
    { timeout: 15000 });
  if (new URL(page.url()).origin === OP) {
    await page.waitForSelector('input[name="prompt"][value="consent"]', { state: 'attached', timeout: 15000 });
    await page.click('button[type="submit"]');
  }
  await page.waitForURL((u) => u.origin === BASE, { timeout: 15000 });
  await ready(page);
  return reached;
}

run(async (ctx) => {
  const problems = [];
  const admin = await openPage(ctx, problems);
  await passwordLogIn(admin, ADMIN);
  await admin.goto(BASE + '/dashboard/organisatie-inloggen.html');
  await ready(admin);
  await admin.waitForSelector('#inhoud:not([hidden])');
  check('the admin page shows the redirect URI to give the organisation',
    (await admin.textContent('#terugkeeradres')) === BASE + '/v1/sso/callback');
  check('and says no organisation is registered yet',
    /nog geen organisatie/.test(await admin.textContent('#lijst')));
  await expectNoAxeViolations(check, admin, 'issuers page, empty');

  await admin.click('#toevoegen button[type="submit"]');
  await admin.waitForSelector('#toevoegen .error-summary');
  check('an empty form gets an error summary with focus',
    await admin.evaluate(() => document.activeElement.classList.contains('error-summary')));
  await expectNoAxeViolations(check, admin, 'issuers page, empty form refused');

  await admin.selectOption('#provider_id', { label: 'Zorggroep Esdorp' });
  await admin.fill('#issuer', 'http://example.org/not-https');
  await admin.fill('#client_id', 'logeerd');
  await admin.fill('#client_secret', CLIENT_SECRET);
  await admin.fill('#email_domains', 'zorg-a.test');
  await admin.click('#toevoegen button[type="submit"]');
  await admin.waitForSelector('#issuer[aria-invalid="true"]', { timeout: 10000 });
  check('an issuer that is not https is refused at its field, in Dutch',
    /https:\/\//.test(await admin.textContent('#toevoegen .error-summary')));
  check('and the secret is not left in the form', (await admin.inputValue('#client_secret')) === '');
  await expectNoAxeViolations(check, admin, 'issuers page, issuer refused');

  await admin.fill('#issuer', OP);
  await admin.fill('#client_secret', CLIENT_SECRET);
  await admin.click('#toevoegen button[type="submit"]');
  await admin.waitForSelector('#melding:not([hidden])', { timeout: 10000 });
  check('the page says the organisation was added',
    /kunnen nu inloggen/.test(await admin.textContent('#melding')));
  check('the list shows it', (await admin.textContent('#lijst')).includes('zorg-a.test'));
  check('the secret is nowhere on the page', !(await admin.content()).includes(CLIENT_SECRET));
  await expectNoAxeViolations(check, admin, 'issuers page, one registered');
  await shoot(admin, 'beheer');
  await admin.setViewportSize({ width: 320, height: 800 });
  check('the issuers page reflows at 320 px', await noHorizontalScroll(admin));
  await shoot(admin, 'beheer-320');

  // A planner of Esdorp signs in with the organisation, by keyboard.
  const second = await openContext();
  const planner = await openPage(second, problems);
  await planner.goto(BASE + '/inloggen.html');
  await ready(planner);
  await expectNoAxeViolations(check, planner, 'sign-in page with "Inloggen met uw organisatie"');
  await shoot(planner, 'inloggen');
  await planner.click('#organisatie button[type="submit"]');
  await planner.waitForSelector('#organisatie .error-summary');
  await expectNoAxeViolations(check, planner, 'sign-in page, work email missing');
  const reached = await organisationSignIn(planner, 'planner@zorg-a.test');
  check('the work email field is reached by Tab', reached);
  check('the planner lands on the bed board', new URL(planner.url()).pathname === '/aanbieder/',
    planner.url());
  await planner.waitForSelector('#ingelogd-als', { timeout: 10000 });
  check('signed in as the planner', (await planner.textContent('#ingelogd-als')).includes('planner'));

  // A stranger from the same domain: back on the sign-in page, told why, no account.
  const third = await openContext();
  const stranger = await openPage(third, problems);
  await organisationSignIn(stranger, 'vreemde@zorg-a.test');
  const url = new URL(stranger.url());
  check('the stranger is back on the sign-in page', url.pathname === '/inloggen.html'
    && url.searchParams.get('sso') === 'no_account', stranger.url());
  check('the message says there is no account here and none is made',
    /nog geen account/.test(await stranger.textContent('#sso-fout')));
  check('focus is on the message', await stranger.evaluate(() => document.activeElement.id === 'sso-fout'));
  await expectNoAxeViolations(check, stranger, 'sign-in page, organisation sign-in refused');
  await shoot(stranger, 'geen-account');
  for (const reason of ['state', 'signature', 'no_issuer']) {
    await stranger.goto(BASE + '/inloggen.html?sso=' + reason);
    await ready(stranger);
    await expectNoAxeViolations(check, stranger, `sign-in page explaining ${reason}`);
  }
  await stranger.setViewportSize({ width: 320, height: 800 });
  check('the sign-in page with its message reflows at 320 px', await noHorizontalScroll(stranger));
  await shoot(stranger, 'fout-320');

  // The provider's own development pages load a web font from the internet; that is theirs.
  const ours = problems.filter((p) => !/net::ERR|fonts\.googleapis|Content Security Policy.*fonts/.test(p));
  check('no script errors or CSP violations on our pages', ours.length === 0, ours.join(' | '));
});
