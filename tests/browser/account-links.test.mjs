// account-links.test.mjs: the links the engine mails, followed in a real browser (Debian's
// Chromium through playwright-core) from what a real SMTP server received, against a logeerd
// whose data the Python wrapper made (tests/integration/test_account_links_browser.py).
// Proves, with 0 axe violations on every page and state: "Wachtwoord vergeten?" -> the mail
// -> its link sets a new password (the token leaves the address bar) -> sign in with it; the
// link used twice is explained; a waiting-list offer mailed after the provider frees the bed
// is accepted from the mail's link in a fresh browser; a new account confirms its address from
// the mail (after "Stuur de link opnieuw" on Mijn gegevens); everything by keyboard where a
// person types; at 320 px nothing scrolls sideways.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { waitForLink } from './lib/mail.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const MAIL_DIR = process.env.LOGEER_SMTP_DIR;
const EMAIL = process.env.LOGEER_EMAIL;
const OLD_PASSWORD = process.env.LOGEER_PASSWORD;
const NEW_PASSWORD = 'een nieuw wachtwoord voor de winter';
const NEW_EMAIL = `nieuw.${Date.now()}@voorbeeld.nl`;

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function axe(page, label) {
  await expectNoAxeViolations(check, page, label);
}

async function tabTo(page, selector) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

async function logIn(page, email, password) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('#inloggen button[type="submit"]');
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);

  // ---- Wachtwoord vergeten? -> the mail, by keyboard ----
  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  check('keyboard: Tab reaches "Wachtwoord vergeten?" on the sign-in page',
    await tabTo(page, 'a[href="/wachtwoord-vergeten.html"]'));
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/wachtwoord-vergeten.html');
  await ready(page);
  await axe(page, 'wachtwoord vergeten: empty');
  await page.click('#vergeten button[type="submit"]');
  await page.waitForSelector('.error-summary');
  check('an empty address is named in the error summary',
    /Vul uw e-mailadres in/.test(await page.textContent('.error-summary')));
  await axe(page, 'wachtwoord vergeten: error summary');
  check('keyboard: Tab reaches the email field', await tabTo(page, '#email'));
  await page.keyboard.type(EMAIL);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#verstuurd:not([hidden])');
  check('the page says a mail is on its way, without saying whether the account exists',
    /Als er een account is/.test(await page.textContent('#verstuurd')));
  await axe(page, 'wachtwoord vergeten: sent');

  const resetLink = await waitForLink(MAIL_DIR, EMAIL, 'Een nieuw wachtwoord instellen', BASE);
  check('the reset mail arrives over SMTP with a link to the new-password page',
    resetLink && resetLink.startsWith(BASE + '/nieuw-wachtwoord.html#token='), resetLink);
  if (!resetLink) return;

  // ---- the link sets a new password ----
  await page.goto(resetLink);
  await ready(page);
  check('the token leaves the address bar once read', !page.url().includes('token='), page.url());
  await axe(page, 'nieuw wachtwoord: form');
  await page.fill('#password', NEW_PASSWORD);
  await page.fill('#password2', NEW_PASSWORD + ' anders');
  await page.click('#nieuw button[type="submit"]');
  await page.waitForSelector('.error-summary');
  check('two different passwords are refused at the second field',
    /niet hetzelfde/.test(await page.textContent('.error-summary')));
  await axe(page, 'nieuw wachtwoord: error summary');
  await page.fill('#password2', NEW_PASSWORD);
  await page.click('#nieuw button[type="submit"]');
  await page.waitForSelector('#gelukt:not([hidden])');
  check('the new password is saved, and the page says every session ended',
    /opgeslagen/.test(await page.textContent('#gelukt')) && /uitgelogd/.test(await page.textContent('#gelukt')));
  await axe(page, 'nieuw wachtwoord: saved');
  await page.click('#naar-inloggen');
  await page.waitForURL((u) => u.pathname === '/inloggen.html');
  await ready(page);
  await logIn(page, EMAIL, OLD_PASSWORD);
  await page.waitForSelector('.error-summary');
  check('the old password no longer works', /klopt niet/.test(await page.textContent('.error-summary')));
  await logIn(page, EMAIL, NEW_PASSWORD);
  await page.waitForURL((u) => u.pathname === '/', { timeout: 10000 }).catch(() => null);
  check('the new password signs in', new URL(page.url()).pathname === '/', page.url());

  // The same link a second time: explained, with the way out.
  await page.goto(resetLink);
  await ready(page);
  await page.fill('#password', NEW_PASSWORD + ' 2');
  await page.fill('#password2', NEW_PASSWORD + ' 2');
  await page.click('#nieuw button[type="submit"]');
  await page.waitForSelector('#link-fout:not([hidden])');
  const used = await page.textContent('#link-fout');
  check('a used link says so and offers a new one',
    /al gebruikt/.test(used) && await page.isVisible('#link-fout a[href="/wachtwoord-vergeten.html"]'), used);
  await axe(page, 'nieuw wachtwoord: link used');

  // ---- a waiting-list offer, accepted from the mailed link ----
  const freed = await fetch(`${BASE}/v1/stays/${process.env.LOGEER_BLOCKING_STAY}/cancel`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + process.env.LOGEER_PROVIDER_TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'de gast komt toch niet, plek komt vrij' })
  });
  check('the provider cancels the stay that held the bed', freed.status === 200, freed.status);
  const offerLink = await waitForLink(MAIL_DIR, EMAIL, 'Er is een logeerplek vrij voor u', BASE);
  check('the offer mail arrives with a link to Mijn logeerplekken',
    offerLink && offerLink.startsWith(BASE + '/mijn-logeerplekken.html#stay-'), offerLink);
  if (!offerLink) return;
  // Another browser, as on a phone that never signed in: the link leads through the sign-in.
  const phoneContext = await openContext();
  const phone = await openPage(phoneContext, problems);
  await phone.goto(offerLink);
  await phone.waitForURL((u) => u.pathname === '/inloggen.html');
  await ready(phone);
  await logIn(phone, EMAIL, NEW_PASSWORD);
  await phone.waitForURL((u) => u.pathname === '/mijn-logeerplekken.html');
  await ready(phone);
  await phone.waitForSelector('#aanbod:not([hidden])');
  check('after signing in, the mailed link lands on the offer',
    /Er is een plek voor u vrij/.test(await phone.textContent('#aanbod')));
  await axe(phone, 'mijn logeerplekken: the offer from the mail');
  await phone.click('#aanbod button:has-text("Ja, ik neem deze plek")');
  await phone.waitForSelector('#melding:not([hidden])');
  await phone.waitForSelector('#aanbod', { state: 'hidden', timeout: 10000 }).catch(() => null);
  check('the offer from the mail is accepted: the stay is confirmed',
    /bevestigd/.test(await phone.textContent('#melding')) && await phone.isHidden('#aanbod'));

  // ---- a new account confirms its address ----
  // Someone else, at their own computer.
  const page2 = await openPage(await openContext(), problems);
  await registerAndConfirm(page2);

  // ---- 320 px ----
  const narrow = await openPage(context, problems, { width: 320, height: 720 });
  for (const path of ['/wachtwoord-vergeten.html', '/nieuw-wachtwoord.html#token=x',
    '/e-mailadres-bevestigen.html', '/inloggen.html', '/mijn-gegevens.html']) {
    await narrow.goto(BASE + path);
    await ready(narrow);
    check(`${path.split('#')[0]} at 320 px does not scroll sideways`, await noHorizontalScroll(narrow));
  }

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join('; '));
});

async function registerAndConfirm(page) {
  await page.goto(BASE + '/registreren.html');
  await ready(page);
  await page.fill('#display_name', 'Nieuwe mantelzorger');
  await page.fill('#email', NEW_EMAIL);
  await page.selectOption('#municipality', 'GM0106');
  await page.fill('#password', NEW_PASSWORD);
  await page.click('#registreren button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.endsWith('registreren.html'), { timeout: 10000 });
  await ready(page);
  check('after registering, the start page mentions the confirmation mail',
    /bevestig daarmee uw e-mailadres/.test(await page.textContent('#melding')));
  await page.goto(BASE + '/mijn-gegevens.html');
  await ready(page);
  await page.waitForSelector('body[data-geladen="true"]');
  check('Mijn gegevens: the address is not yet confirmed, with why it matters',
    await page.isVisible('#bevestigen') && /Nee, nog niet/.test(await page.textContent('#account')));
  await axe(page, 'mijn gegevens: address not confirmed');
  check('keyboard: Tab reaches "Stuur de link opnieuw"', await tabTo(page, '#opnieuw button'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#opnieuw-verstuurd:not([hidden])');
  await axe(page, 'mijn gegevens: link sent again');
  const verifyLink = await waitForLink(MAIL_DIR, NEW_EMAIL, 'Bevestig uw e-mailadres', BASE, 2);
  check('the second confirmation mail arrives with a link to the confirmation page',
    verifyLink && verifyLink.startsWith(BASE + '/e-mailadres-bevestigen.html#token='), verifyLink);
  if (!verifyLink) return;
  await page.goto(verifyLink);
  await ready(page);
  await page.waitForSelector('#gelukt:not([hidden]), #link-fout:not([hidden])');
  check('the link confirms the address', /is bevestigd/.test(await page.textContent('#gelukt')));
  await axe(page, 'e-mailadres bevestigen: confirmed');
  await page.goto(BASE + '/mijn-gegevens.html');
  await ready(page);
  await page.waitForSelector('body[data-geladen="true"]');
  check('Mijn gegevens now says the address is confirmed',
    await page.isHidden('#bevestigen') && /Ja/.test(await page.textContent('#account')));
  const firstVerify = await waitForLink(MAIL_DIR, NEW_EMAIL, 'Bevestig uw e-mailadres', BASE, 1);
  await page.goto(firstVerify);
  await ready(page);
  await page.waitForSelector('#link-fout:not([hidden])');
  check('the first, replaced link explains that it no longer works',
    /werkt niet|al gebruikt/.test(await page.textContent('#link-fout')));
  await axe(page, 'e-mailadres bevestigen: old link');
}
