// portaal-vervoer.test.mjs: staying along, transport and the email choices in the caregiver
// portal, in a real browser against a logeerd whose data the Python wrapper made
// (tests/integration/test_portal_along_browser.py): a logeerhuis in Assen with one companion
// place, check-in 14:00-17:00 and check-out 10:00-12:00, whose companion place is taken on
// LOGEER_FULL. Proves, with 0 axe violations on every state: the search and the request page
// say the caregiver may stay along and when guests arrive and leave; a time outside the window
// is refused at the field naming the window; staying along on the full dates is refused at the
// checkbox; on the free dates the request with companion and transport both ways is held and
// confirmed; Mijn logeerplekken shows both and changes the transport (outside the window
// refused at the field first; then by keyboard; a change made meanwhile in another window is
// reported and shown, not overwritten); Mijn gegevens lists the emails, essential ones
// always on with the reason, a refusal from the server is announced and shown at its box, and
// one switched off by keyboard stays off after a reload; at 320 px nothing scrolls sideways.
// A link to the request page opened in a new tab (nothing of the search kept there) still
// names the place and says its windows: the page asks the search for that pool alone.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openPage, run } from './lib/run.mjs';

const SHOT_DIRS = (process.env.LOGEER_SHOT_DIRS || '').split(',').filter(Boolean);
const ASKED = process.env.LOGEER_ASKED;
const FULL = process.env.LOGEER_FULL;
const POOL = process.env.LOGEER_POOL;

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
}

async function shoot(page, name) {
  for (const dir of SHOT_DIRS) {
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `portaal-${name}.png`), fullPage: true });
  }
}

async function axe(page, label) {
  await expectNoAxeViolations(check, page, label);
}

// Presses Tab until the focused element matches selector (at most 80 times): keyboard only.
async function tabTo(page, selector) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

async function narrow(page, label) {
  await page.setViewportSize({ width: 320, height: 800 });
  check(`320 px: ${label} does not scroll sideways`, await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });
}

const squash = (t) => (t || '').replace(/\s+/g, ' ');

// Search the dates and open the request page of the one place.
async function requestPage(page, checkIn) {
  await page.goto(BASE + '/zoeken.html');
  await ready(page);
  await page.fill('#check_in', checkIn);
  await page.fill('#nights', '3');
  await page.selectOption('#municipality', 'GM0106');
  await page.click('#zoeken button[type="submit"]');
  await page.waitForSelector('#resultaten:not([hidden])');
  const card = page.locator('#lijst > li').first();
  const text = squash(await card.textContent());
  await card.locator(`a.button[href*="pool=${POOL}"]`).click();
  await page.waitForURL(/aanvragen\.html/);
  await ready(page);
  await page.waitForSelector('#aanvragen:not([hidden])');
  return text;
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);
  await page.goto(BASE + '/inloggen.html');
  await ready(page);
  await page.fill('#email', process.env.LOGEER_EMAIL);
  await page.fill('#password', process.env.LOGEER_PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.endsWith('inloggen.html'), { timeout: 10000 });

  // ---- the full dates: the window and the companion place refused at their fields ----
  const found = await requestPage(page, FULL);
  check('the search says the caregiver may stay along here', /U kunt hier zelf ook blijven logeren/.test(found), found);
  const choice = squash(await page.textContent('#keuze-gegevens'));
  check('the request page says the windows in words',
    /Aankomen\s*tussen 14:00 en 17:00 uur/.test(choice) && /Ophalen\s*tussen 10:00 en 12:00 uur/.test(choice), choice);
  check('the companion box is offered', await page.isVisible('#companion'));
  check('the arrival window is said at the arrival fields',
    /ontvangt gasten tussen 14:00 en 17:00 uur/.test(await page.textContent('#arrival-venster')));
  await axe(page, 'aanvragen: companion and transport fields');
  await narrow(page, 'aanvragen with companion and transport');
  await page.check('#companion');
  await page.selectOption('#arrival-by', 'caregiver');
  await page.fill('#arrival-time', '18:00');
  await page.click('#vraag-aan');
  await page.waitForSelector('#arrival-time[aria-invalid="true"]');
  let err = squash(await page.textContent('#arrival-time-error'));
  check('a time outside the window is refused at the field, naming the window in Dutch',
    /Deze tijd past niet: aankomst tussen 14:00 en 17:00 uur/.test(err), err);
  await axe(page, 'aanvragen: time outside the window');
  await page.fill('#arrival-time', '15:30');
  await page.click('#vraag-aan');
  await page.waitForSelector('#companion[aria-invalid="true"], #mislukt:not([hidden])');
  err = squash(await page.textContent('#companion-error', { timeout: 1000 }).catch(() => page.textContent('#aanvragen')));
  check('no companion place left is refused at the checkbox, in Dutch',
    /geen plek meer vrij om zelf mee te logeren/.test(err), err);
  check('the summary names it and has focus',
    /Geen plek om zelf mee te logeren/.test(await page.textContent('.error-summary')) &&
    await page.evaluate(() => document.activeElement.classList.contains('error-summary')));
  check('the refused request did not reach the stay list', !(await page.isVisible('#vastgehouden')));
  await axe(page, 'aanvragen: no companion place left');

  // ---- a link to the request page opened elsewhere (a new tab: nothing of the search kept) ----
  const direct = await openPage(context, problems);
  const out = new Date(Date.parse(ASKED + 'T00:00:00Z') + 3 * 86400000).toISOString().slice(0, 10);
  await direct.goto(`${BASE}/aanvragen.html?pool=${POOL}&in=${ASKED}&uit=${out}`);
  await ready(direct);
  await direct.waitForSelector('#aanvragen:not([hidden])');
  const linked = squash(await direct.textContent('#keuze-gegevens'));
  check('a link opened in a new tab still names the place and says its windows in words',
    /Logeerplek/.test(linked) && /Aankomen\s*tussen 14:00 en 17:00 uur/.test(linked) &&
    /Ophalen\s*tussen 10:00 en 12:00 uur/.test(linked), linked);
  check('and offers the companion place and the arrival window at the fields',
    await direct.isVisible('#companion') &&
    /ontvangt gasten tussen 14:00 en 17:00 uur/.test(await direct.textContent('#arrival-venster')));
  await axe(direct, 'aanvragen opened from a link');
  await direct.close();

  // ---- the free dates: companion and transport both ways ----
  await requestPage(page, ASKED);
  await page.check('#companion');
  await page.selectOption('#arrival-by', 'caregiver');
  await page.fill('#arrival-time', '15:30');
  await page.fill('#arrival-note', 'dochter rijdt mee');
  await page.selectOption('#departure-by', 'provider');
  await page.fill('#departure-time', '10:30');
  await page.click('#vraag-aan');
  await page.waitForSelector('#vastgehouden:not([hidden])');
  await page.click('#bevestig');
  await page.waitForSelector('#klaar:not([hidden])');
  let text = squash(await page.textContent('#klaar'));
  check('the confirmation repeats the companion and the transport',
    /U blijft zelf ook logeren/.test(text) && /Brengen: U brengt uw naaste om 15:30 uur \(dochter rijdt mee\)/.test(text) &&
    /Ophalen: De logeerplek brengt uw naaste thuis om 10:30 uur/.test(text), text);
  await axe(page, 'aanvragen: confirmed with companion and transport');
  await shoot(page, 'aanvragen-vervoer');

  // ---- Mijn logeerplekken: both shown, transport changed ----
  await page.goto(BASE + '/mijn-logeerplekken.html');
  await ready(page);
  await page.waitForSelector('#lijst > li');
  const card = page.locator('#lijst > li', { hasText: 'bevestigd' }).first();
  text = squash(await card.textContent());
  check('the stay shows the companion and who brings and collects when',
    /U blijft zelf ook logeren/.test(text) && /Brengen: U brengt uw naaste om 15:30 uur \(dochter rijdt mee\)/.test(text) &&
    /Ophalen: De logeerplek brengt uw naaste thuis om 10:30 uur/.test(text), text);
  await axe(page, 'mijn logeerplekken: companion and transport');
  await card.locator('.vervoer-wijzigen button').click();
  const form = card.locator('form');
  await form.waitFor();
  check('the change form says the pick-up window in words',
    /opgehaald tussen 10:00 en 12:00 uur/.test(squash(await form.textContent())));
  check('the form starts with what is arranged',
    await form.locator('[name="arrival.time"]').inputValue() === '15:30' &&
    await form.locator('[name="departure.by"]').inputValue() === 'provider');
  await axe(page, 'mijn logeerplekken: the change form');
  await narrow(page, 'mijn logeerplekken with the change form');
  await form.locator('[name="departure.time"]').fill('13:00');
  await form.locator('button[type="submit"]').click();
  await page.waitForSelector('form [name="departure.time"][aria-invalid="true"]');
  err = squash(await form.locator('.field-error').first().textContent());
  check('a pick-up time outside the window is refused at the field, naming the window',
    /Deze tijd past niet: vertrek tussen 10:00 en 12:00 uur/.test(err), err);
  await axe(page, 'mijn logeerplekken: time outside the window');
  // Now by keyboard alone: who collects, the time and a note, then save.
  await form.locator('[name="departure.time"]').fill('11:00');
  await form.locator('[name="departure.time"]').focus();
  check('keyboard: Tab reaches the note', await tabTo(page, 'form [name="departure.note"]'));
  await page.keyboard.type('buurman haalt op');
  await page.keyboard.down('Shift');
  check('keyboard: Shift+Tab reaches who collects', await tabTo(page, 'form [name="departure.by"]'));
  await page.keyboard.up('Shift');
  await page.keyboard.press('ArrowDown'); // from "de logeerplek" to the next choice: someone else
  check('keyboard: Tab reaches Opslaan', await tabTo(page, 'form button[type="submit"]'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /zijn gewijzigd/.test(document.getElementById('melding').textContent));
  // Focus moves to the message once the list has been read again.
  const focused = await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'melding',
    null, { timeout: 10000 }).then(() => true, () => false);
  check('the change is confirmed in a status message that has focus',
    focused && await page.getAttribute('#melding', 'role') === 'status');
  await page.reload();
  await ready(page);
  await page.waitForSelector('#lijst > li');
  text = squash(await page.locator('#lijst > li', { hasText: 'bevestigd' }).first().textContent());
  check('after a reload the new pick-up shows', /Ophalen: Iemand anders haalt uw naaste op om 11:00 uur \(buurman haalt op\)/.test(text) &&
    /Brengen: U brengt uw naaste om 15:30 uur/.test(text), text);
  await axe(page, 'mijn logeerplekken: after the change');
  await shoot(page, 'mijn-logeerplekken-vervoer');

  // A change made elsewhere while the form is open (here: another window, through the API) is
  // shown, not overwritten: the form writes with If-Match.
  const again = page.locator('#lijst > li', { hasText: 'bevestigd' }).first();
  await again.locator('.vervoer-wijzigen button').click();
  const stale = again.locator('form');
  await stale.waitFor();
  const stayId = (await stale.getAttribute('id')).replace(/^vervoer-/, '');
  await page.evaluate(async (id) => {
    const { api } = await import('/common/api.js');
    await api('PATCH', `/v1/stays/${id}`, { departure: { by: 'caregiver', time: '11:30' } });
  }, stayId);
  await stale.locator('[name="departure.time"]').fill('10:15');
  await stale.locator('button[type="submit"]').click();
  await page.waitForFunction(() => /intussen ergens anders gewijzigd/.test(document.getElementById('melding').textContent));
  text = squash(await page.locator('#lijst > li', { hasText: 'bevestigd' }).first().textContent());
  check('a change made meanwhile elsewhere is reported and shown, not overwritten',
    /Ophalen: U haalt uw naaste op om 11:30 uur/.test(text) && !/10:15/.test(text) &&
    await page.getAttribute('#melding', 'class') === 'alert alert--error', text);
  await axe(page, 'mijn logeerplekken: changed meanwhile elsewhere');
  await shoot(page, 'mijn-logeerplekken-intussen-gewijzigd');
  await page.setViewportSize({ width: 320, height: 800 });
  await shoot(page, 'mijn-logeerplekken-intussen-gewijzigd-320');
  await page.setViewportSize({ width: 1280, height: 900 });
  await narrow(page, 'mijn logeerplekken with the changed-meanwhile message');

  // ---- Berichten per e-mail ----
  await page.goto(BASE + '/mijn-gegevens.html');
  await ready(page);
  await page.waitForSelector('#berichten-deel:not([hidden])');
  const always = page.locator('#bericht-request_approved');
  check('an essential email is shown on and cannot be switched off',
    await always.isChecked() && await always.isDisabled());
  check('its reason is said in words and tied to the box',
    /Staat altijd aan\. Een besluit over uw aanvraag mag u niet missen/.test(await page.textContent('#bericht-request_approved-waarom')) &&
    await always.getAttribute('aria-describedby') === 'bericht-request_approved-waarom');
  check('a non-essential email is on and switchable',
    await page.isChecked('#bericht-stay_reminder') && !(await page.isDisabled('#bericht-stay_reminder')));
  await axe(page, 'mijn gegevens: berichten per e-mail');
  await narrow(page, 'mijn gegevens with the email choices');
  // A refusal from the server: the request is spoilt on its way (the last choice's value is
  // no true or false), so the real server refuses that one entry.
  let spoilt = null;
  await page.route('**/v1/me/notifications', async (route) => {
    if (route.request().method() !== 'PUT') return route.continue();
    const body = JSON.parse(route.request().postData());
    spoilt = body.preferences[body.preferences.length - 1].kind;
    body.preferences[body.preferences.length - 1].enabled = 'uit';
    await route.continue({ postData: JSON.stringify(body) });
  }, { times: 1 });
  await page.click('#berichten button[type="submit"]');
  await page.waitForSelector('#berichten .error-summary');
  err = squash(await page.textContent('#berichten .error-summary'));
  check('a refusal is announced in Dutch (role=alert) and nothing is said saved',
    /Uw keuzes zijn niet bewaard/.test(err) && /kon niet worden bewaard/.test(err) &&
    await page.getAttribute('#berichten .error-summary', 'role') === 'alert' && await page.isHidden('#berichten-klaar'), err);
  check('the refusal is shown at the box it concerns',
    spoilt !== null && await page.getAttribute(`#bericht-${spoilt}`, 'aria-invalid') === 'true' &&
    /kon niet worden bewaard/.test(await page.textContent(`#bericht-${spoilt}-error`)), spoilt);
  await axe(page, 'mijn gegevens: a refused choice');
  await page.reload();
  await ready(page);
  await page.waitForSelector('#berichten-deel:not([hidden])');
  check('the refused change changed nothing', await page.isChecked('#bericht-stay_reminder'));
  await page.focus('#berichten-titel').catch(() => {});
  check('keyboard: Tab reaches the reminder box', await tabTo(page, '#bericht-stay_reminder'));
  await page.keyboard.press('Space');
  check('keyboard: Tab reaches "Bewaar mijn keuzes"', await tabTo(page, '#berichten button[type="submit"]'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#berichten-klaar:not([hidden])');
  text = squash(await page.textContent('#berichten-klaar'));
  check('saving is announced in a status message that has focus',
    /Uw keuzes zijn bewaard/.test(text) && await page.getAttribute('#berichten-klaar', 'role') === 'status' &&
    await page.evaluate(() => document.activeElement.id === 'berichten-klaar'), text);
  await axe(page, 'mijn gegevens: choices saved');
  await page.reload();
  await ready(page);
  await page.waitForSelector('#berichten-deel:not([hidden])');
  check('after a reload the reminder stays off, the essential one stays on',
    !(await page.isChecked('#bericht-stay_reminder')) && await page.isChecked('#bericht-request_approved'));
  const api = await page.evaluate(async () => (await (await fetch('/v1/me/notifications')).json()).preferences);
  check('the API says the same', api.find((p) => p.kind === 'stay_reminder').enabled === false &&
    api.find((p) => p.kind === 'request_approved').enabled === true, JSON.stringify(api));
  await shoot(page, 'berichten');

  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
