// board-practice.test.mjs: the bed board's practice parts (/aanbieder/) in a real browser
// against a running logeerd with the Drenthe demo data and the pools, intakes and stays that
// test_board_practice_browser.py made. Proves: the Kennismakingen section lists both asked
// intakes with the caregiver's moments and only the guest's alias, birth year, care profile
// and needs; the planner makes an appointment (date and time in a dialog) that the API then
// holds; records "welkom" with a note ("alleen weekenden") by keyboard alone (Tab, Space,
// Enter); for the other guest a decision without a reason is refused at the field, a trial of
// 40 nights is refused by the server in a Dutch sentence at the field, and "niet passend" with
// a reason is recorded, which the caregiver's own API view shows; the arrivals list shows who
// brings and collects the guest at what time, the pool's times and "Mantelzorger blijft
// logeren", and "nog niet afgesproken" where nothing is arranged; the settings page shows and
// writes kennismaking first, arrival days, blocks, times, companion places and free
// cancellation, and refuses a window whose end is before its start in Dutch at the field.
// 0 axe violations in every state; no script errors or CSP violations.
//
// Run by tests/integration/test_board_practice_browser.py; by hand it needs the BORD_*
// variables that script sets.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, openPage, run } from './lib/run.mjs';

const SHOTS = (process.env.LOGEER_SCREENSHOTS || '').split(',').filter(Boolean);
const E = process.env;
const TODAY = E.BORD_TODAY;
const PASSWORD = 'logeerzorg-demo';
const REASON = 'Meneer loopt \'s nachts veel rond en onze deuren zijn niet afgesloten. Logeerhuis De Es heeft nachtzorg.';
// The demo's asked kennismaking at Esdorp (deploy/seed/drenthe_demo.sql), which this test leaves alone.
const DEMO_INTAKE = 'd6000000-0000-4000-a000-000000000007';

function addDays(ymd, n) {
  const d = new Date(ymd + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

async function apiAs(token, method, path, body) {
  const resp = await fetch(BASE + path, {
    method, headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined
  });
  const text = await resp.text();
  return { status: resp.status, json: text ? JSON.parse(text) : null };
}

async function shoot(page, suffix, selector) {
  if (selector) await page.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'start' }), selector);
  for (const shot of SHOTS) {
    const path = shot.replace(/\.png$/, `-${suffix}.png`);
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path });
    console.log(`      screenshot saved to ${path}`);
  }
}

async function login(page, email) {
  await page.goto(BASE + '/aanbieder/');
  await page.waitForURL(/inloggen\.html\?terug=/, { timeout: 10000 });
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/aanbieder\/$/), page.click('button[type="submit"]')]);
  await page.waitForSelector('body[data-kennismakingen]', { timeout: 20000 });
}

// Waits until the intakes list was read again after a step (the counter goes up).
async function afterIntakeStep(page, before) {
  await page.waitForFunction((n) => Number(document.body.dataset.kennismakingen || 0) > n, before, { timeout: 10000 });
}
const intakeCount = async (page) => Number(await page.getAttribute('body', 'data-kennismakingen') || 0);

// Presses Tab until the element matching selector has focus (at most max presses).
async function tabTo(page, selector, max = 300) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement && document.activeElement.matches(sel), selector)) return true;
    await page.keyboard.press('Tab');
  }
  return false;
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);
  await login(page, 'planner@esdorp.demo.logeer.nl');

  // ---- the list ----
  const rowW = `#km-tabel tr[data-intake="${E.BORD_INTAKE_WELCOME}"]`;
  const rowR = `#km-tabel tr[data-intake="${E.BORD_INTAKE_REFUSE}"]`;
  const textW = await page.textContent(rowW);
  check('an asked kennismaking is listed with the guest, the location and the caregiver\'s moments',
    /mevr\. Welkom/.test(textW) && /geboren in 1942/.test(textW) && /zorg in de nacht/.test(textW) &&
    /Dinsdagmiddag of donderdagochtend/.test(textW) && /nog geen afspraak/.test(textW), textW);
  check('before an appointment only "Afspraak maken" is offered (the outcome comes after it)',
    !!(await page.$(`${rowW} button[data-km-actie="schedule"]`)) && !(await page.$(`${rowW} button[data-km-actie="decide"]`)));
  const textR = await page.textContent(rowR);
  check('the colleague\'s appointment shows with "Uitkomst vastleggen"',
    /dhr\. Past Niet/.test(textR) && /om 10:00/.test(textR) && !!(await page.$(`${rowR} button[data-km-actie="decide"]`)), textR);
  check('the list shows no caregiver\'s e-mail address', !(await page.textContent('#kennismakingen')).includes(E.BORD_CAREGIVER_EMAIL));
  await expectNoAxeViolations(check, page, 'board with the kennismakingen');
  await shoot(page, 'kennismakingen', '#kennismakingen');

  // ---- schedule (mouse) ----
  let before = await intakeCount(page);
  await page.click(`${rowW} button[data-km-actie="schedule"]`);
  await page.waitForSelector('#km-afspraak[open]');
  check('the appointment dialog repeats what suits the caregiver',
    /Dinsdagmiddag of donderdagochtend/.test(await page.textContent('#km-afspraak-wens')));
  check('and puts the cursor on the date', await page.evaluate(() => document.activeElement.id) === 'km-datum');
  await page.click('#km-afspraak-ja');
  await page.waitForSelector('#km-datum-error');
  check('an empty appointment is refused at the date and time fields',
    /Kies de datum/.test(await page.textContent('#km-afspraak .error-summary')) &&
    await page.getAttribute('#km-tijd', 'aria-invalid') === 'true');
  await expectNoAxeViolations(check, page, 'appointment dialog with errors');
  const date = addDays(TODAY, 3);
  await page.fill('#km-datum', date);
  await page.fill('#km-tijd', '14:30');
  await page.fill('#km-afspraak-notitie', 'Meld u bij de receptie.');
  await expectNoAxeViolations(check, page, 'appointment dialog filled in');
  await page.click('#km-afspraak-ja');
  await afterIntakeStep(page, before);
  const said = await page.textContent('#melding');
  let intake = (await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/intakes/${E.BORD_INTAKE_WELCOME}`)).json;
  const local = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Amsterdam', dateStyle: 'short', timeStyle: 'short' })
    .format(new Date(intake.scheduled_at));
  check('the appointment is written (scheduled, that day at 14:30 Dutch time) and the caregiver sees it',
    intake.status === 'scheduled' && local === `${date} 14:30` && intake.notes === 'Meld u bij de receptie.', JSON.stringify(intake));
  check('the page says so and the row now offers the outcome',
    /staat op/.test(said) && /14:30/.test(said) && !!(await page.$(`${rowW} button[data-km-actie="decide"]`)), said);
  check('focus goes to the message', await page.evaluate(() => document.activeElement.id) === 'melding');
  await expectNoAxeViolations(check, page, 'board after the appointment');

  // ---- welcome, by keyboard alone ----
  before = await intakeCount(page);
  await page.focus('#main');
  check('Tab reaches "Uitkomst vastleggen" for mevr. Welkom', await tabTo(page, `${rowW} button[data-km-actie="decide"]`));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#km-uitkomst[open]');
  check('Enter opens the outcome dialog with the cursor on the first choice',
    await page.evaluate(() => document.activeElement.id) === 'km-welcome');
  await page.keyboard.press('Space');
  check('Space chooses "Welkom"', await page.isChecked('#km-welcome'));
  await page.keyboard.press('Tab');
  check('Tab goes on to the note (the trial and reason fields stay hidden)',
    await page.evaluate(() => document.activeElement.id) === 'km-notitie');
  await page.keyboard.type('alleen weekenden');
  await expectNoAxeViolations(check, page, 'outcome dialog (welcome)');
  await page.keyboard.press('Tab');
  check('Tab reaches "Uitkomst vastleggen" in the dialog', await page.evaluate(() => document.activeElement.id) === 'km-uitkomst-ja');
  await page.keyboard.press('Enter');
  await afterIntakeStep(page, before);
  intake = (await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/intakes/${E.BORD_INTAKE_WELCOME}`)).json;
  check('welcome is recorded with the note, and the caregiver reads both',
    intake.status === 'decided' && intake.outcome === 'welcome' && intake.notes === 'alleen weekenden', JSON.stringify(intake));
  check('the page says so, the intake has left the list, focus is on the message',
    /is welkom/.test(await page.textContent('#melding')) && !(await page.$(rowW)) &&
    await page.evaluate(() => document.activeElement.id) === 'melding');
  await expectNoAxeViolations(check, page, 'board after the welcome');

  // ---- not suitable, with a reason ----
  before = await intakeCount(page);
  await page.click(`${rowR} button[data-km-actie="decide"]`);
  await page.waitForSelector('#km-uitkomst[open]');
  check('the outcome dialog starts empty again', !(await page.isChecked('#km-welcome')) && await page.inputValue('#km-notitie') === '');
  await page.check('#km-not_suitable');
  check('"Niet passend" shows the reason field, saying the caregiver reads it',
    await page.isVisible('#km-reden') && /leest deze reden/.test(await page.textContent('#km-reden-hint')));
  await page.click('#km-uitkomst-ja');
  await page.waitForSelector('#km-reden[aria-invalid="true"]');
  check('without a reason it is refused at the field, in Dutch',
    /Schrijf de reden voor de mantelzorger/.test(await page.textContent('#km-uitkomst .error-summary')));
  await expectNoAxeViolations(check, page, 'outcome dialog, reason missing');
  await page.check('#km-trial_first');
  await page.fill('#km-proef', '40');
  await page.click('#km-uitkomst-ja');
  await page.waitForSelector('#km-proef[aria-invalid="true"]');
  check('a trial of 40 nights is refused by the server, in a Dutch sentence at the field',
    /van 1 tot en met 28/.test(await page.textContent('#km-uitkomst .error-summary')) &&
    (await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/intakes/${E.BORD_INTAKE_REFUSE}`)).json.status === 'scheduled');
  await expectNoAxeViolations(check, page, 'outcome dialog, trial refused');
  await shoot(page, 'uitkomst');
  await page.check('#km-not_suitable');
  await page.fill('#km-reden', REASON);
  await page.click('#km-uitkomst-ja');
  await afterIntakeStep(page, before);
  intake = (await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/intakes/${E.BORD_INTAKE_REFUSE}`)).json;
  check('"niet passend" is recorded, and the caregiver\'s own API view gives the reason',
    intake.outcome === 'not_suitable' && intake.reason === REASON && intake.trial_max_nights === null, JSON.stringify(intake));
  check('the page says the caregiver reads the reason', /leest uw reden/.test(await page.textContent('#melding')));
  // The demo data has an asked kennismaking of its own at Esdorp: only this test's two count.
  check('neither of this test\'s kennismakingen is left to plan', !(await page.$(rowW)) && !(await page.$(rowR)));
  check('the demo\'s own asked kennismaking is still on the list, untouched',
    !!(await page.$(`#km-tabel tr[data-intake="${DEMO_INTAKE}"] button[data-km-actie="schedule"]`)));
  await expectNoAxeViolations(check, page, 'board after "niet passend"');

  // ---- after a trial: the outcome that follows ----
  const rowT = `#km-proef-tabel tr[data-intake="${E.BORD_INTAKE_TRIAL}"]`;
  const textT = (await page.textContent(rowT)).replace(/\s+/g, ' ');
  // The day as the page writes it (the browser's own Dutch, which may differ from Node's).
  const trialDay = await page.evaluate((d) => new Intl.DateTimeFormat('nl-NL',
    { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date(d + 'T12:00:00Z')), E.BORD_TRIAL_IN);
  check('a guest on trial is listed under "Na een proefverblijf" with the limit and her trial stay',
    await page.isVisible('#km-proef-titel') && /mevr\. Proef/.test(textT) && /Hoogstens 2 nachten/.test(textT) &&
    textT.includes(trialDay) && /bevestigd/.test(textT), `${textT} / ${trialDay}`);
  check('she is not among the kennismakingen to plan', !(await page.$(`#km-tabel tr[data-intake="${E.BORD_INTAKE_TRIAL}"]`)));
  await expectNoAxeViolations(check, page, 'board with a guest on trial');
  before = await intakeCount(page);
  await page.click(`${rowT} button[data-km-actie="decide"]`);
  await page.waitForSelector('#km-uitkomst[open]');
  check('the outcome dialog names the trial stay', /Na het proefverblijf van mevr\. Proef/.test(
    await page.textContent('#km-uitkomst-gast')) && (await page.textContent('#km-uitkomst-gast')).includes(trialDay));
  await page.check('#km-welcome');
  await page.click('#km-uitkomst-ja');
  await afterIntakeStep(page, before);
  intake = (await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/intakes/${E.BORD_INTAKE_TRIAL}`)).json;
  check('after the trial "welkom" is recorded, and she has left the list',
    intake.outcome === 'welcome' && intake.trial_max_nights === null && !(await page.$(rowT)) &&
    /is welkom/.test(await page.textContent('#melding')), JSON.stringify(intake));
  await expectNoAxeViolations(check, page, 'board after the outcome of a trial');

  // ---- arrivals: companion and transport ----
  const arrive = await page.textContent(`#av-lijst tr[data-stay="${E.BORD_STAY_COMPANION}"][data-beweging="arrival"]`);
  check('the arrival shows who brings the guest at what time, the note, the pool\'s times and the companion',
    /Brengt: de mantelzorger, om 15:30\.“zoon brengt, rolstoel mee”/.test(arrive) &&
    /Aankomen tussen 14:00 en 18:00 uur/.test(arrive) && /Mantelzorger blijft logeren/.test(arrive), arrive);
  const leave = await page.textContent(`#av-lijst tr[data-stay="${E.BORD_STAY_COMPANION}"][data-beweging="departure"]`);
  check('the departure shows who collects the guest and when',
    /Haalt op: wij \(de zorgaanbieder\), om 11:00\./.test(leave) && /Vertrekken tussen 10:00 en 12:00 uur/.test(leave) &&
    /Mantelzorger blijft logeren/.test(leave), leave);
  const plain = await page.textContent(`#av-lijst tr[data-stay="${E.BORD_STAY_PLAIN}"][data-beweging="arrival"]`);
  check('a stay without transport says so, and shows no companion',
    /Brengen: nog niet afgesproken/.test(plain) && !/Mantelzorger blijft logeren/.test(plain), plain);
  await expectNoAxeViolations(check, page, 'arrivals with transport and companion');
  await shoot(page, 'aankomst', '#aankomst-vertrek');

  // ---- settings: the practice rules ----
  await Promise.all([page.waitForURL(/\/aanbieder\/instellingen\.html$/), page.click('header a[href="/aanbieder/instellingen.html"]')]);
  await page.waitForSelector('body[data-instellingen="klaar"]', { timeout: 15000 });
  await page.selectOption('#groep', E.BORD_POOL);
  await page.waitForFunction((id) => document.body.dataset.groep === id, E.BORD_POOL);
  check('the settings show the pool\'s times, companion places and (empty) free cancellation',
    await page.inputValue('#check_in_window') === '14:00-18:00' && await page.inputValue('#check_out_window') === '10:00-12:00' &&
    await page.inputValue('#companion_places') === '2' && await page.inputValue('#free_cancel_days') === '' &&
    !(await page.isChecked('#intake_required')) && await page.inputValue('#blocks') === '');
  await expectNoAxeViolations(check, page, 'settings with the practice rules');
  await page.check('#intake_required');
  for (const d of [1, 3, 5]) await page.check(`#arrival_weekdays-${d}`);
  await page.fill('#blocks', 'ma-wo, wo-vr, vr-ma');
  await page.fill('#check_in_window', '18:00-14:00');
  await page.fill('#companion_places', '3');
  await page.fill('#free_cancel_days', '7');
  await page.click('#bewaren');
  await page.waitForSelector('#check_in_window[aria-invalid="true"]');
  check('a time window that ends before it starts is refused by the server at the field, in Dutch',
    /Schrijf de tijd van aankomst als 14:00-17:00/.test(await page.textContent('#regels .error-summary')) &&
    (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${E.BORD_POOL}`)).json.companion_places === 2);
  await expectNoAxeViolations(check, page, 'settings with a refused time window');
  await page.fill('#check_in_window', '14.00 - 17.00');
  await page.click('#bewaren');
  await page.waitForFunction(() => /bewaard/.test(document.getElementById('melding').textContent));
  const rules = (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${E.BORD_POOL}`)).json;
  check('kennismaking first, Monday/Wednesday/Friday, three blocks, 14:00-17:00, 3 companion places, free until 7 days are written',
    rules.intake_required === true && rules.arrival_weekdays.join() === '1,3,5' &&
    JSON.stringify(rules.blocks) === JSON.stringify([{ arrive: 1, nights: 2 }, { arrive: 3, nights: 2 }, { arrive: 5, nights: 3 }]) &&
    rules.check_in_window === '14:00-17:00' && rules.companion_places === 3 && rules.free_cancel_days === 7, JSON.stringify(rules));
  check('and the form shows them as written', await page.inputValue('#blocks') === 'ma-wo, wo-vr, vr-ma' &&
    await page.inputValue('#check_in_window') === '14:00-17:00');
  await page.fill('#free_cancel_days', '');
  await page.click('#bewaren');
  let freed = null;
  for (let i = 0; i < 50 && !(freed && freed.free_cancel_days === null); i++) {
    await page.waitForTimeout(100);
    freed = (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${E.BORD_POOL}`)).json;
  }
  await page.waitForFunction(() => /bewaard/.test(document.getElementById('melding').textContent));
  check('an empty free-cancellation field means always free (null)', freed.free_cancel_days === null, JSON.stringify(freed.free_cancel_days));
  await expectNoAxeViolations(check, page, 'settings after saving');
  await shoot(page, 'instellingen-praktijk', '#kennismaking-titel');

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
});
