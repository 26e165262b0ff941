// portaal-kennismaking.test.mjs: the portal's kennismaking (intake) and toekenning (allowance)
// steps in a real browser, against a logeerd whose data the Python wrapper made
// (tests/integration/test_portal_intake_browser.py): a logeerhuis in Assen that asks for a
// kennismaking first, a caregiver whose person is described and two earlier kennismakingen
// (a trial first, not suitable). Proves, with 0 axe
// violations (WCAG 2.1 A/AA) on every page and state: the search offers to ask for a
// kennismaking, and a request before it links there too -> asked (an empty form first), cancelled by keyboard, asked again by keyboard
// -> the provider schedules and decides welcome (API) -> the caregiver reads the date, then
// "welkom" with the provider's notes -> the search says the place can be booked; a toekenning
// with a BSN-like reference is refused at the field, then saved with what is left -> a Wmo
// request beyond it says what is left and succeeds paid privately -> the toekenning changed:
// a change made meanwhile in another window is shown, not overwritten; more nights saved; a
// Wmo stay uses them; fewer nights than planned, or an end before that stay, refused saying
// why; 320 px reflow.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openPage, run } from './lib/run.mjs';

const SHOT_DIRS = (process.env.LOGEER_SHOT_DIRS || '').split(',').filter(Boolean);
const TODAY = process.env.LOGEER_TODAY;
const ASKED = process.env.LOGEER_ASKED;
const LOCATION = process.env.LOGEER_LOCATION;
const PLACE = 'Logeerhuis De Hulst';
const NOTES = 'Alleen in het weekend. De eerste keer blijft u het eerste uur erbij.';

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

// The provider's side, through the API as their own system would call it.
async function asProvider(method, path, body) {
  const resp = await fetch(BASE + path, {
    method,
    headers: { Authorization: 'Bearer ' + process.env.LOGEER_PROVIDER_TOKEN, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined
  });
  return { status: resp.status, json: await resp.json().catch(() => null) };
}

async function search(page, checkIn = ASKED) {
  await page.goto(BASE + '/zoeken.html');
  await ready(page);
  await page.fill('#check_in', checkIn);
  await page.fill('#nights', '3');
  await page.selectOption('#municipality', 'GM0106');
  await page.click('#zoeken button[type="submit"]');
  await page.waitForSelector('#resultaten:not([hidden])');
  return page.locator('#lijst > li', { hasText: PLACE });
}

// The newest kennismaking at the place, once it shows the state expected (the list is read
// again after each step, so the old list may still be there for a moment). Its text either way.
async function intakeCard(page, expected) {
  await page.waitForFunction(([place, re]) => {
    const li = [...document.querySelectorAll('#lijst > li')].find((n) => n.textContent.includes(place));
    return li && new RegExp(re).test(li.textContent);
  }, [PLACE, expected.source], { timeout: 10000 }).catch(() => null);
  const li = page.locator('#lijst > li', { hasText: PLACE }).first();
  return (await li.textContent()).replace(/\s+/g, ' ');
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

  // ---- the search offers a kennismaking ----
  let card = await search(page);
  let text = (await card.textContent()).replace(/\s+/g, ' ');
  check('the result says a kennismaking comes first', /Eerst kennismaken/.test(text), text);
  const ask = card.locator('a[href^="/kennismaking.html"]');
  check('the result offers to ask for a kennismaking', await ask.count() === 1 &&
    /Vraag een kennismaking aan/.test(await ask.textContent()), text);
  const farm = page.locator('#lijst > li', { hasText: 'Zorgboerderij De Es' });
  text = (await farm.textContent()).replace(/\s+/g, ' ');
  check('after a trial-first outcome the search says the trial stay can be booked',
    /Kennismaking gedaan: u kunt hier aanvragen/.test(text) && /op proef, hoogstens 2 nachten/.test(text), text);
  await axe(page, 'zoeken: a place that asks for a kennismaking first');

  // ---- a request before the kennismaking leads to asking for one ----
  await card.locator('a.button').click();
  await page.waitForURL(/aanvragen\.html/);
  await ready(page);
  await page.waitForSelector('#aanvragen:not([hidden])');
  await page.selectOption('#funding', 'private');
  await page.click('#vraag-aan');
  await page.waitForSelector('#mislukt:not([hidden])');
  text = (await page.textContent('#mislukt')).replace(/\s+/g, ' ');
  const toIntake = page.locator(`#mislukt a[href="/kennismaking.html?locatie=${LOCATION}"]`);
  check('a request before the kennismaking says so and links to asking for one',
    /eerst kennismaken/.test(text) && await toIntake.count() === 1, text);
  await axe(page, 'aanvragen: a kennismaking comes first');
  await toIntake.click();
  await page.waitForURL(/kennismaking\.html\?locatie=/);
  await ready(page);
  await page.waitForSelector('#vraag:not([hidden])');
  const asked = await page.textContent('#vraag-gegevens');
  check('the form names the place and the person', asked.includes(PLACE) && asked.includes('mevr. H.'), asked);
  await page.waitForSelector('#lijst > li');
  const listed = (await page.textContent('#lijst')).replace(/\s+/g, ' ');
  check('no kennismaking at this place yet', !listed.includes(PLACE), listed);
  check('the earlier ones show their outcome in words: a trial of 2 nights first, not suitable with the reason',
    /Stand: eerst een proefverblijf van 2 nachten/.test(listed) && /Stand: niet passend/.test(listed) &&
    listed.includes('Wij hebben geen nachtzorg.'), listed);
  check('a decided kennismaking has no cancel button', await page.locator('#lijst button').count() === 0);
  await axe(page, 'kennismaking: the form, with earlier outcomes');

  // ---- an empty form first, then asked by keyboard ----
  await page.click('#kennismaking button[type="submit"]');
  await page.waitForSelector('#kennismaking .error-summary');
  check('an empty form says what to fill in, at the field',
    /Schrijf op wanneer het u uitkomt/.test(await page.textContent('#moments-error')));
  await axe(page, 'kennismaking: the form with an error');
  check('keyboard: Tab reaches the moments', await tabTo(page, '#moments'));
  await page.keyboard.type('Dinsdag- of donderdagmiddag na 14.00 uur');
  check('keyboard: Tab reaches the request button', await tabTo(page, '#kennismaking button[type="submit"]'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#melding:not([hidden])');
  check('asking is confirmed in words', /is aangevraagd/.test(await page.textContent('#melding')));
  text = await intakeCard(page, /Stand: aangevraagd/);
  check('the list shows it: aangevraagd, for the person at the place',
    /Stand: aangevraagd/.test(text) && text.includes(PLACE) && text.includes('mevr. H. ') && !text.includes('H..'), text);
  await axe(page, 'kennismaking: asked');

  // ---- cancelled by keyboard, asked again ----
  check('keyboard: Tab reaches "Kennismaking annuleren"', await tabTo(page, '#lijst button'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /geannuleerd/.test(document.getElementById('melding').textContent));
  text = await intakeCard(page, /Stand: geannuleerd/);
  check('the cancelled kennismaking shows as geannuleerd, without a cancel button',
    /Stand: geannuleerd/.test(text) && /U heeft de kennismaking afgezegd/.test(text) &&
    await page.locator('#lijst button').count() === 0, text);
  await axe(page, 'kennismaking: cancelled');
  await page.goto(`${BASE}/kennismaking.html?locatie=${LOCATION}`);
  await ready(page);
  await page.fill('#moments', 'Dinsdagmiddag');
  await page.click('#kennismaking button[type="submit"]');
  await page.waitForSelector('#melding:not([hidden])');
  const open = await asProvider('GET', `/v1/intakes?location_id=${LOCATION}&status=requested`);
  check('the provider sees the new request', open.status === 200 && open.json.intakes.length === 1, open.status);
  const intake = open.json.intakes[0].id;

  // ---- the provider schedules: the caregiver reads the date ----
  const at = `${addDays(TODAY, 2)}T13:30:00Z`;
  let r = await asProvider('POST', `/v1/intakes/${intake}/schedule`, { at });
  check('the provider schedules the kennismaking', r.status === 200, r.status);
  await page.reload();
  await ready(page);
  text = await intakeCard(page, /Stand: datum afgesproken/);
  check('the caregiver reads the agreed date', /Stand: datum afgesproken/.test(text) && /om 1[45]:30/.test(text), text);
  await axe(page, 'kennismaking: a date agreed');

  // ---- welcome, with the provider's notes ----
  r = await asProvider('POST', `/v1/intakes/${intake}/decide`, { outcome: 'welcome', notes: NOTES });
  check('the provider decides welcome', r.status === 200, r.status);
  await page.reload();
  await ready(page);
  text = await intakeCard(page, /Stand: welkom/);
  check('the caregiver reads "welkom" and the provider\'s notes', /Stand: welkom/.test(text) && text.includes(NOTES), text);
  check('an outcome has no cancel button', await page.locator('#lijst button').count() === 0);
  check('after welcome the place\'s form is gone and a line says the kennismaking is done',
    await page.isHidden('#vraag') && /al gedaan/.test(await page.textContent('#al-gedaan')));
  await axe(page, 'kennismaking: welkom');
  await shoot(page, 'kennismaking');

  card = await search(page);
  text = (await card.textContent()).replace(/\s+/g, ' ');
  check('after welcome the search says the place can be booked', /Kennismaking gedaan: u kunt hier aanvragen/.test(text), text);
  await axe(page, 'zoeken: kennismaking done');

  // ---- a toekenning: a BSN-like reference is refused at the field ----
  await page.goto(BASE + '/persoon.html');
  await ready(page);
  await page.waitForSelector('#toekenningen:not([hidden])');
  check('no toekenning yet', await page.isVisible('#geen-toekenning'));
  await page.selectOption('#toekenning-funding', 'wmo');
  check('Wmo asks for the municipality', await page.isVisible('#toekenning-municipality'));
  await page.selectOption('#toekenning-municipality', 'GM0106');
  await page.fill('#nights_per_week', '1');
  await page.fill('#valid_from', TODAY);
  await page.fill('#valid_to', addDays(TODAY, 365));
  await page.fill('#reference', '123456782');
  await page.click('#toekenning button[type="submit"]');
  await page.waitForSelector('#toekenning .error-summary');
  const refused = await page.textContent('#reference-error').catch(() => '');
  check('a reference that looks like a BSN is refused at the field, saying why',
    /burgerservicenummer/.test(refused) && await page.getAttribute('#reference', 'aria-invalid') === 'true', refused);
  await axe(page, 'persoon: a BSN-like reference refused');
  await page.fill('#reference', 'WMO-2026-0042');
  await page.click('#toekenning button[type="submit"]');
  await page.waitForSelector('#toekenning-klaar:not([hidden])');
  const said = (await page.textContent('#toekenning-klaar')).trim();
  check('saving is confirmed in words, and only that', said === 'De toekenning is opgeslagen.', said);
  const saved = (await page.textContent('#toekenning-lijst')).replace(/\s+/g, ' ');
  check('the toekenning is listed with what is left this week',
    /Wmo/.test(saved) && /Assen/.test(saved) && /0 van 1 nacht gebruikt, nog 1 over/.test(saved) && /WMO-2026-0042/.test(saved), saved);
  await axe(page, 'persoon: a toekenning saved');
  await shoot(page, 'toekenning');

  // ---- a Wmo request beyond it: what is left, then paid privately ----
  card = await search(page);
  await card.locator('a.button').click();
  await page.waitForURL(/aanvragen\.html/);
  await ready(page);
  await page.waitForSelector('#aanvragen:not([hidden])');
  check('the request is paid with Wmo, as the person usually is', await page.inputValue('#funding') === 'wmo');
  await page.click('#vraag-aan');
  await page.waitForSelector('#mislukt:not([hidden])');
  text = (await page.textContent('#mislukt')).replace(/\s+/g, ' ');
  check('beyond the toekenning: the page says so and what is left',
    /Niet genoeg nachten over/.test(text) && /nog 1 nacht/.test(await page.textContent('#over')), text);
  check('it links to entering a toekenning on the person\'s page',
    await page.locator('#mislukt a[href*="/persoon.html"][href$="#toekenningen"]').count() === 1);
  await axe(page, 'aanvragen: beyond the toekenning');
  await shoot(page, 'aanvragen-toekenning');
  check('keyboard: Tab reaches "Zelf betalen en opnieuw aanvragen"', await tabTo(page, '#zelf-betalen'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#vastgehouden:not([hidden])');
  check('paid privately, the place is held', await page.inputValue('#funding') === 'private');
  await axe(page, 'aanvragen: held after choosing to pay privately');
  await page.click('#bevestig');
  await page.waitForSelector('#klaar:not([hidden])');
  check('the stay is confirmed', /bevestigd/.test(await page.textContent('#klaar')));

  // ---- changing the toekenning ----
  const allowanceCard = () => page.locator('#toekenning-lijst > li').first();
  const allowanceText = async () => (await page.textContent('#toekenning-lijst')).replace(/\s+/g, ' ');
  async function openChange() {
    await page.goto(BASE + '/persoon.html');
    await ready(page);
    await page.waitForSelector('#toekenning-lijst > li');
    await allowanceCard().locator('button', { hasText: 'Wijzigen' }).click();
    const form = allowanceCard().locator('form.wijzig');
    await form.waitFor();
    return form;
  }
  async function told(expected) {
    await page.waitForFunction((re) => new RegExp(re).test(document.getElementById('toekenning-klaar').textContent),
      expected, { timeout: 10000 });
  }
  let change = await openChange();
  check('the change form opens with the toekenning\'s values, its button saying so',
    await change.locator('[name="nights_per_week"]').inputValue() === '1' &&
    await change.locator('[name="reference"]').inputValue() === 'WMO-2026-0042' &&
    await allowanceCard().locator('button[aria-expanded="true"]').count() === 1 &&
    await page.evaluate(() => document.activeElement && document.activeElement.name === 'nights_per_week'));
  await axe(page, 'persoon: changing a toekenning');
  // Another window changes the reference while this form is open.
  await page.evaluate(async () => {
    const { api } = await import('/common/api.js');
    const a = (await api('GET', '/v1/allowances?limit=1')).allowances[0];
    await api('PATCH', '/v1/allowances/' + a.id, { reference: 'WMO-2026-0042-B' },
      { headers: { 'If-Match': `"${a.version}"` } });
  });
  await change.locator('[name="nights_per_week"]').fill('3');
  await change.locator('button[type="submit"]').click();
  await told('intussen ergens anders veranderd');
  text = await allowanceText();
  check('a change made meanwhile elsewhere is shown, not overwritten',
    /WMO-2026-0042-B/.test(text) && /0 van 1 nacht gebruikt/.test(text), text);
  await axe(page, 'persoon: a toekenning changed elsewhere meanwhile');

  await allowanceCard().locator('button', { hasText: 'Wijzigen' }).click();
  change = allowanceCard().locator('form.wijzig');
  await change.locator('[name="nights_per_week"]').fill('3');
  await change.locator('button[type="submit"]').click();
  await told('De wijziging is opgeslagen');
  text = await allowanceText();
  check('more nights a week saved: the card shows them, the other window\'s reference kept',
    /0 van 3 nachten gebruikt, nog 3 over/.test(text) && /WMO-2026-0042-B/.test(text), text);

  // A Wmo stay a week later uses them.
  card = await search(page, addDays(ASKED, 7));
  await card.locator('a.button').click();
  await page.waitForURL(/aanvragen\.html/);
  await ready(page);
  await page.waitForSelector('#aanvragen:not([hidden])');
  await page.click('#vraag-aan');
  await page.waitForSelector('#vastgehouden:not([hidden])');
  check('within the toekenning the Wmo request is held', await page.inputValue('#funding') === 'wmo');
  await page.click('#bevestig');
  await page.waitForSelector('#klaar:not([hidden])');

  // Fewer nights than that stay plans, then an end before it: both refused, saying why.
  change = await openChange();
  await change.locator('[name="nights_per_week"]').fill('1');
  await change.locator('button[type="submit"]').click();
  await change.locator('.error-summary').waitFor();
  text = (await change.locator('.error-summary').textContent()).replace(/\s+/g, ' ');
  check('fewer nights than planned: refused, naming the week and what is planned',
    /De toekenning is niet gewijzigd/.test(text) && /in de week vanaf .* al \d nachten? gepland, het nieuwe aantal is 1/.test(text), text);
  check('the error summary has the focus', await page.evaluate(() => document.activeElement &&
    document.activeElement.classList.contains('error-summary')));
  await axe(page, 'persoon: fewer nights than planned refused');
  await shoot(page, 'toekenning-wijzigen');
  await change.locator('[name="nights_per_week"]').fill('3');
  await change.locator('[name="valid_to"]').fill(TODAY);
  await change.locator('button[type="submit"]').click();
  await page.waitForFunction(() => /buiten de nieuwe data/.test(
    (document.querySelector('form.wijzig .error-summary') || {}).textContent || ''), null, { timeout: 10000 });
  check('an end before a planned stay: refused, naming the stay', /Eén logeerperiode met deze toekenning valt buiten/.test(
    await change.locator('.error-summary').textContent()));
  check('keyboard: Annuleren closes the form and gives the focus back', await (async () => {
    await change.locator('[data-action="annuleer"]').focus();
    await page.keyboard.press('Enter');
    return await allowanceCard().locator('form.wijzig').count() === 0 &&
      await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('aria-expanded') === 'false');
  })());

  // ---- 320 px: the new pages reflow ----
  const phone = await openPage(context, problems, { width: 320, height: 720 });
  for (const path of ['/kennismaking.html', `/kennismaking.html?locatie=${LOCATION}`, '/persoon.html']) {
    await phone.goto(BASE + path);
    await ready(phone);
    await phone.waitForSelector('#lijst > li, #toekenning-lijst > li', { timeout: 10000 }).catch(() => null);
    check(`${path} at 320 px does not scroll sideways`, await noHorizontalScroll(phone));
    await axe(phone, `${path} at 320 px`);
  }

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
});
