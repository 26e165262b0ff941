// portaal-flow.test.mjs: the caregiver portal's whole flow in a real browser (Debian's
// Chromium through playwright-core) against a logeerd whose data the Python wrapper made
// (tests/integration/test_portal_flow_browser.py): one logeerhuis in Assen whose only bed is
// taken on the asked dates. Proves, with 0 axe violations (WCAG 2.1 A/AA) on every page and
// state: register -> describe the person -> search (the asked dates are full, the earliest
// dates that fit are shown) -> hold with a countdown -> confirm -> the calendar file -> the
// stay in Mijn logeerplekken -> cancel (with a confirmation step); waiting list -> the provider
// frees the bed -> the offer on Mijn logeerplekken and the start page -> accept; the main flow
// once by keyboard alone; at 320 px nothing scrolls sideways; Mijn gegevens erases the
// account. Screenshots (desktop and phone) go to each folder in LOGEER_SHOT_DIRS.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openPage, run } from './lib/run.mjs';

const SHOT_DIRS = (process.env.LOGEER_SHOT_DIRS || '').split(',').filter(Boolean);
const ASKED = process.env.LOGEER_ASKED;
const POOL = process.env.LOGEER_POOL;
const EMAIL = `mantelzorger.${Date.now()}@voorbeeld.nl`;
const PASSWORD = 'een lang wachtwoord voor de proef';

function addDays(ymd, n) {
  const d = new Date(ymd + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function shoot(page, name) {
  for (const dir of SHOT_DIRS) {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `portaal-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`      screenshot saved to ${path}`);
  }
}

async function axe(page, label) {
  await expectNoAxeViolations(check, page, label);
}

// Presses Tab until the focused element matches selector (at most 60 times): keyboard only.
async function tabTo(page, selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

async function search(page, checkIn) {
  await page.goto(BASE + '/zoeken.html');
  await ready(page);
  await page.fill('#check_in', checkIn);
  await page.fill('#nights', '3');
  await page.selectOption('#municipality', 'GM0106');
  await page.click('#zoeken button[type="submit"]');
  await page.waitForSelector('#resultaten:not([hidden])');
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);

  // ---- a visitor searches first: the asked dates are full, the earliest dates are shown ----
  await search(page, ASKED);
  const title = await page.textContent('#resultaten-titel');
  check('a visitor may search: the asked dates are full', /geen plek vrij/.test(title), title);
  const dates = await page.$$eval('#lijst .data a', (as) => as.map((a) => new URL(a.href).searchParams.get('terug') || a.href));
  check('the earliest dates that fit are shown as links', dates.length >= 3, dates.length);
  check('for a visitor, a date leads to logging in first and back to the request',
    dates.every((d) => d.startsWith('/aanvragen.html?')), dates[0]);
  check('the first earliest date is the day the bed is free again (3 nights after the asked day)',
    dates.length > 0 && new URLSearchParams(dates[0].split('?')[1]).get('in') === addDays(ASKED, 3), dates[0]);
  await axe(page, 'zoeken: asked dates full, earliest dates (visitor)');

  // ---- register ----
  await page.goto(BASE + '/registreren.html');
  await ready(page);
  await page.waitForSelector('#municipality option[value="GM0106"]', { state: 'attached' });
  await page.fill('#email', EMAIL);
  await page.fill('#password', PASSWORD);
  await page.selectOption('#municipality', 'GM0106');
  if (await page.$('#display_name')) await page.fill('#display_name', 'Mieke');
  await page.click('#registreren button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.endsWith('registreren.html'), { timeout: 10000 });
  await ready(page);
  check('after registering the caregiver is logged in', await page.isVisible('#ingelogd-als'));

  // ---- describe the person: errors first, then saved ----
  await page.goto(BASE + '/persoon.html');
  await ready(page);
  await page.waitForSelector('#care_profile-dementia');
  await axe(page, 'persoon: empty form');
  await page.click('#persoon button[type="submit"]');
  await page.waitForSelector('.error-summary');
  check('an empty person form shows the error summary with links to the fields',
    (await page.$$eval('.error-summary a', (as) => as.map((a) => a.getAttribute('href')))).includes('#alias'));
  await axe(page, 'persoon: with errors');
  await page.fill('#alias', 'mevr. B.');
  await page.fill('#birth_year', '1938');
  await page.check('#care_profile-dementia');
  await page.check('#need-night_care');
  await page.selectOption('#funding', 'zvw');
  await page.click('#persoon button[type="submit"]');
  await page.waitForSelector('#opgeslagen:not([hidden])');
  check('the person is saved', await page.isVisible('#opgeslagen'));
  await axe(page, 'persoon: saved');
  await shoot(page, 'persoon');

  // ---- search as the caregiver: prefilled from the person ----
  await page.goto(BASE + '/zoeken.html');
  await ready(page);
  await page.waitForSelector('#persoon-melding:not([hidden])');
  check('the search is prefilled from the person (care and funding)',
    await page.inputValue('#care_profile') === 'dementia' && await page.inputValue('#funding') === 'zvw');
  await search(page, ASKED);
  check('the asked dates are full for the caregiver too', /geen plek vrij/.test(await page.textContent('#resultaten-titel')));
  await axe(page, 'zoeken: earliest dates (caregiver)');
  await shoot(page, 'zoeken-vroegste');
  const first = await page.$('#lijst .data a');
  const firstHref = await first.getAttribute('href');
  await first.click();

  // ---- request: a hold with its countdown, then confirm ----
  await ready(page);
  await page.waitForSelector('#aanvragen:not([hidden])');
  check('the request page names the place and the dates',
    /Logeerhuis De Linde/.test(await page.textContent('#keuze')) && /3 nachten/.test(await page.textContent('#keuze')));
  check('the funding is prefilled from the person', await page.inputValue('#funding') === 'zvw');
  await axe(page, 'aanvragen: before the request');
  await page.click('#vraag-aan');
  await page.waitForSelector('#vastgehouden:not([hidden])');
  const clock = await page.textContent('#klok');
  check('the hold shows a countdown', /^\d+:\d\d minuten$/.test(clock), clock);
  const spoken = await page.textContent('#aftellen-sr');
  check('screen readers get the time left in minutes through a polite live region',
    /^Nog \d+ minuten om te bevestigen\.$/.test(spoken) && await page.getAttribute('#aftellen-sr', 'aria-live') === 'polite', spoken);
  await page.waitForTimeout(1500);
  check('the visible countdown runs', (await page.textContent('#klok')) !== clock);
  check('the spoken countdown does not change every second', (await page.textContent('#aftellen-sr')) === spoken);
  await axe(page, 'aanvragen: held with countdown');
  await shoot(page, 'aanvragen-vastgehouden');
  await page.click('#bevestig');
  await page.waitForSelector('#klaar:not([hidden])');
  check('the stay is confirmed', /bevestigd/.test(await page.textContent('#klaar')));
  await axe(page, 'aanvragen: confirmed');
  const ics = await page.getAttribute('#klaar a[download]', 'href');
  const cal = await page.request.get(BASE + ics);
  const icsText = await cal.text();
  check('"Zet in agenda" gives an iCalendar file of the stay',
    cal.status() === 200 && cal.headers()['content-type'] === 'text/calendar; charset=utf-8' &&
    icsText.startsWith('BEGIN:VCALENDAR\r\n') && icsText.includes('SUMMARY:Logeren bij Logeerhuis De Linde'), icsText.slice(0, 200));

  // ---- Mijn logeerplekken: the stay, then cancel with a confirmation step ----
  await page.goto(BASE + '/mijn-logeerplekken.html');
  await ready(page);
  await page.waitForSelector('#lijst li');
  const item = await page.textContent('#lijst li');
  check('Mijn logeerplekken shows the stay with its status in words', /Logeerhuis De Linde/.test(item) && /bevestigd/.test(item), item);
  await axe(page, 'mijn logeerplekken: a confirmed stay');
  await shoot(page, 'mijn-logeerplekken');
  await page.click('#lijst li .annuleren button');
  await page.waitForSelector('#lijst li .annuleren .alert');
  check('cancel asks once more first', /Weet u zeker/.test(await page.textContent('#lijst li .annuleren')));
  await axe(page, 'mijn logeerplekken: cancel asked');
  await page.click('#lijst li .annuleren button:has-text("Ja, annuleer")');
  await page.waitForSelector('#melding:not([hidden])');
  await page.waitForFunction(() => /geannuleerd/.test(document.querySelector('#lijst li').textContent));
  check('after cancelling the stay shows "geannuleerd"', /geannuleerd/.test(await page.textContent('#lijst li')));

  // ---- the waiting list, the offer and accepting it ----
  await search(page, ASKED);
  const waitButton = await page.$('#lijst .wachtlijst button');
  check('when the asked dates are full, one click puts the person on the waiting list', waitButton !== null);
  await waitButton.click();
  await page.waitForSelector('#wachtlijst-melding:not([hidden])');
  check('the waiting list is confirmed in words', /wachtlijst/.test(await page.textContent('#wachtlijst-melding')));
  await axe(page, 'zoeken: on the waiting list');
  // The provider frees the bed: the waiting list gets an offer.
  const freed = await fetch(`${BASE}/v1/stays/${process.env.LOGEER_BLOCKING_STAY}/cancel`, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + process.env.LOGEER_PROVIDER_TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ reason: 'ziekte in het team opgelost, plek komt vrij' })
  });
  check('the provider cancels the stay that held the bed', freed.status === 200, freed.status);
  await page.goto(BASE + '/');
  await ready(page);
  await page.waitForSelector('#aanbod:not([hidden])', { timeout: 10000 }).catch(() => null);
  check('the offer shows prominently on the start page', await page.isVisible('#aanbod'));
  await axe(page, 'start page: with an offer');
  await page.goto(BASE + '/mijn-logeerplekken.html');
  await ready(page);
  await page.waitForSelector('#aanbod:not([hidden])');
  const offer = await page.textContent('#aanbod');
  check('Mijn logeerplekken shows the offer on top with its expiry',
    /Er is een plek voor u vrij/.test(offer) && /geldt tot/.test(offer), offer);
  await axe(page, 'mijn logeerplekken: an offer');
  await shoot(page, 'aanbod');
  await page.click('#aanbod button:has-text("Ja, ik neem deze plek")');
  await page.waitForSelector('#melding:not([hidden])');
  // The message comes first, then the list is read again: wait for the offer box to go.
  await page.waitForSelector('#aanbod', { state: 'hidden', timeout: 10000 }).catch(() => null);
  check('accepting the offer confirms the stay', /bevestigd/.test(await page.textContent('#melding')) &&
    await page.isHidden('#aanbod'));

  // ---- 320 px: nothing scrolls sideways, on every page ----
  const phone = await openPage(context, problems, { width: 320, height: 720 });
  for (const path of ['/', '/zoeken.html', '/persoon.html', '/mijn-logeerplekken.html', '/mijn-gegevens.html']) {
    await phone.goto(BASE + path);
    await ready(phone);
    check(`${path} at 320 px does not scroll sideways`, await noHorizontalScroll(phone));
  }
  await search(phone, ASKED);
  check('search results at 320 px do not scroll sideways', await noHorizontalScroll(phone));
  await shoot(phone, 'zoeken-telefoon');
  await phone.goto(BASE + '/mijn-logeerplekken.html');
  await ready(phone);
  await shoot(phone, 'mijn-logeerplekken-telefoon');
  await phone.close();

  // ---- Mijn gegevens: download, and erase with a warning and a second question ----
  await page.goto(BASE + '/mijn-gegevens.html');
  await ready(page);
  check('Mijn gegevens offers the download of everything stored',
    await page.getAttribute('#download', 'href') === '/v1/me/export');
  const exported = await page.request.get(BASE + '/v1/me/export');
  const data = await exported.json();
  check('the download holds the account, the stays and the person',
    exported.status() === 200 && data.stays.length >= 2 && data.guests.length === 1 && data.guests[0].alias === 'mevr. B.');
  // The button fetches the file itself (so a step-up can be asked first) and saves it.
  const [saved] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const savedText = await new Promise((resolve, reject) => {
    saved.createReadStream().then((stream) => {
      const parts = [];
      stream.on('data', (c) => parts.push(c));
      stream.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
      stream.on('error', reject);
    }, reject);
  });
  check('clicking the button saves the same export as logeer-gegevens.json',
    saved.suggestedFilename() === 'logeer-gegevens.json' && JSON.parse(savedText).guests[0].alias === 'mevr. B.');
  await axe(page, 'mijn gegevens');
  await page.click('#wissen button[type="submit"]');
  await page.waitForSelector('.error-summary');
  check('erasing without the tick is refused with a message at the box', await page.isVisible('#zeker-error, .field-error'));
  await page.check('#zeker');
  await page.click('#wissen button[type="submit"]');
  await page.waitForSelector('#nog-een-keer');
  await axe(page, 'mijn gegevens: asked once more');
  await page.click('#wissen button[type="submit"]');
  await page.waitForURL((u) => u.pathname === '/', { timeout: 10000 });
  const me = await page.request.get(BASE + '/v1/me');
  check('after erasing, the session has ended', me.status() === 401, me.status());

  // ---- the main flow once by keyboard alone ----
  const kb = await openPage(context, problems);
  await kb.goto(BASE + '/inloggen.html');
  await ready(kb);
  check('keyboard: Tab reaches the email field', await tabTo(kb, '#email'));
  await kb.keyboard.type(process.env.LOGEER_KEYBOARD_EMAIL);
  await kb.keyboard.press('Tab');
  await kb.keyboard.type(process.env.LOGEER_KEYBOARD_PASSWORD);
  await kb.keyboard.press('Enter');
  await kb.waitForURL((u) => !u.pathname.endsWith('inloggen.html'), { timeout: 10000 });
  await kb.goto(BASE + '/zoeken.html');
  await ready(kb);
  await kb.waitForSelector('#persoon-melding:not([hidden])');
  check('keyboard: Tab reaches the choice of dates', await tabTo(kb, '#wanneer-vast'));
  await kb.keyboard.press('ArrowDown');
  check('keyboard: the arrow key chooses a flexible period', await kb.isChecked('#wanneer-flex') &&
    await kb.isVisible('#from'));
  check('keyboard: Tab reaches the municipality', await tabTo(kb, '#municipality'));
  await kb.keyboard.type('Assen');
  check('keyboard: Tab reaches "Zoeken"', await tabTo(kb, '#zoeken button[type="submit"]'));
  await kb.keyboard.press('Enter');
  await kb.waitForSelector('#resultaten:not([hidden])');
  check('keyboard: the search finds dates in the period', /plek in deze periode/.test(await kb.textContent('#resultaten-titel')),
    await kb.textContent('#resultaten-titel'));
  check('keyboard: focus moved to the results heading', await kb.evaluate(() => document.activeElement.id) === 'resultaten-titel');
  check('keyboard: Tab reaches the first date', await tabTo(kb, '#lijst .data a'));
  await kb.keyboard.press('Enter');
  await kb.waitForSelector('#aanvragen:not([hidden])');
  check('keyboard: Tab reaches the request button', await tabTo(kb, '#vraag-aan'));
  await kb.keyboard.press('Enter');
  await kb.waitForSelector('#vastgehouden:not([hidden])');
  check('keyboard: Tab reaches "Bevestig"', await tabTo(kb, '#bevestig'));
  await kb.keyboard.press('Enter');
  await kb.waitForSelector('#klaar:not([hidden])');
  check('keyboard: the stay is confirmed without a mouse', /bevestigd/.test(await kb.textContent('#klaar')));
  await kb.close();

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
  void POOL; void firstHref;
});
