// board.test.mjs: the provider's bed board (/aanbieder/) in a real browser against a running
// logeerd with the Drenthe demo data and the pools and stays test_board_browser.py made.
// Proves: a visitor is sent to the login and back; the Esdorp planner sees planned and crisis
// pools under separate headings, in tables with row and column headers, stale pools marked in
// words; a range change (werkdagen) is written; a colleague's change made between loading and
// saving (a second planner in a second browser with its own session saves the same nights on
// the board) is reported as "In de tussentijd heeft iemand anders dit veranderd in N bedden" and
// nothing is overwritten until the planner saves again; lowering below what is booked is
// refused with the night and the stay named; "alles klopt nog" makes every pool fresh; a
// request is accepted and another declined with a reason the caregiver reads back through
// the API and, logged in in a browser of their own, in the portal (/mijn-logeerplekken.html); a guest is checked in and out after a confirmation, another marked no-show, an
// accepted stay cancelled with a reason the caregiver reads; on the settings page (from the
// menu) a pool's rules are shown, a maximum below the minimum is refused in a Dutch sentence
// at the field, good rules are written, and a colleague's change meanwhile is reported; the edit flow works by keyboard
// alone (Tab, arrow keys, Enter); 0 axe violations in every state, at desktop and tablet
// width and at 320 px (no sideways page scroll); a CSV import with two bad lines is refused
// with both named and nothing written, a good one is previewed and then written; the Hunzehof planner sees none of Esdorp's pools or stays.
//
// Run by tests/integration/test_board_browser.py; by hand it needs the BORD_* variables that
// script sets.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, openContext, openPage, run } from './lib/run.mjs';

const SHOTS = (process.env.LOGEER_SCREENSHOTS || '').split(',').filter(Boolean);
const E = process.env;
const TODAY = E.BORD_TODAY;
const APPROVAL = E.BORD_POOL_APPROVAL;
const INSTANT = E.BORD_POOL_INSTANT;
const PASSWORD = 'logeerzorg-demo';
const REASON = 'Op die dagen is er geen verpleegkundige voor de nacht.';

function addDays(ymd, n) {
  const d = new Date(ymd + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
const weekday = (ymd) => new Date(ymd + 'T12:00:00Z').getUTCDay();

// The API as another client would use it (Bearer token), for set-up and for reading back.
async function apiAs(token, method, path, body, headers = {}) {
  const resp = await fetch(BASE + path, {
    method, headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', ...headers },
    body: body ? JSON.stringify(body) : undefined
  });
  const text = await resp.text();
  return { status: resp.status, json: text ? JSON.parse(text) : null };
}
async function nightsOf(pool, from, to) {
  const r = await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${pool}/capacity?from=${from}&to=${to}`);
  return Object.fromEntries(r.json.nights.map((n) => [n.date, n.capacity]));
}

// The visible part of the page (the board is long), scrolled to what the state is about.
async function shoot(page, suffix, selector) {
  if (selector) await page.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'start' }), selector);
  else await page.evaluate(() => window.scrollTo(0, 0));
  for (const shot of SHOTS) {
    const path = shot.replace(/\.png$/, `-${suffix}.png`);
    mkdirSync(dirname(path), { recursive: true });
    await page.screenshot({ path });
    console.log(`      screenshot saved to ${path}`);
  }
}

async function loads(page) {
  return Number(await page.getAttribute('body', 'data-laadteller') || 0);
}
async function afterReload(page, before) {
  await page.waitForFunction((n) => Number(document.body.dataset.laadteller || 0) > n, before, { timeout: 10000 });
}

async function login(page, email) {
  await page.goto(BASE + '/aanbieder/');
  await page.waitForURL(/inloggen\.html\?terug=/, { timeout: 10000 });
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/aanbieder\/$/), page.click('button[type="submit"]')]);
  await page.waitForSelector('body[data-bord="klaar"]', { timeout: 15000 });
  await page.waitForSelector('body[data-verblijven]', { timeout: 15000 });
}

async function fillEdit(page, pool, from, to, days, beds) {
  await page.selectOption('#pool', pool);
  await page.fill('#van', from);
  await page.fill('#tm', to);
  await page.check(`input[name="dagen"][value="${days}"]`);
  await page.fill('#bedden', String(beds));
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);

  // ---- login through the common login page ----
  await login(page, 'planner@esdorp.demo.logeer.nl');
  check('a visitor is sent to the login and, logged in, back to the board', page.url().endsWith('/aanbieder/'), page.url());
  const headings = await page.$$eval('#groepen h3', (hs) => hs.map((h) => h.textContent));
  check('planned and crisis pools stand apart under their own headings',
    headings.join('|') === 'Planbare logeerbedden|Crisisbedden', headings.join('|'));
  const crisisRows = await page.$$eval('.soort--crisis tbody th', (ths) => ths.map((t) => t.textContent));
  check('the crisis section holds Esdorp\'s crisis bed and no planned pool',
    crisisRows.some((t) => t.includes('Crisisbed')) && !crisisRows.some((t) => t.includes('Bordtest')), crisisRows.join('|'));
  const tables = await page.$$eval('.bord-tabel', (ts) => ts.map((t) => ({
    cols: t.querySelectorAll('thead th[scope="col"]').length,
    rows: t.querySelectorAll('tbody th[scope="row"]').length,
    caption: t.caption ? t.caption.textContent : ''
  })));
  check('the board is real tables (caption, 7 nights + a column header, row headers), four weeks per kind',
    tables.length === 8 && tables.every((t) => t.cols === 8 && t.rows > 0 && /^Week \d+/.test(t.caption)),
    JSON.stringify(tables.slice(0, 2)));
  const cellText = await page.textContent(`button.cel[data-pool="${INSTANT}"][data-date="${TODAY}"]`);
  check('a night shows free, capacity, booked and held (3 beds, 2 booked today)',
    /1 vrij/.test(cellText) && /3 bedden, 2 geboekt, 0 vastgehouden/.test(cellText), cellText);
  const staleRow = await page.textContent('#verouderd');
  check('a pool older than the stale limit is marked in words (Respijtkamers, 20 days)',
    /Respijtkamers/.test(staleRow) && /niet bevestigd sinds 20 dagen/.test(staleRow), staleRow);
  check('the stale pool\'s row says so too',
    (await page.$$eval('.groep__verouderd', (s) => s.map((x) => x.textContent))).some((t) => /Verouderd/.test(t)));
  await expectNoAxeViolations(check, page, 'board after login');
  await shoot(page, 'bord');

  // ---- paging ----
  check('the board cannot page back before this week', await page.isDisabled('#eerder'));
  let n = await loads(page);
  await page.click('#later');
  await afterReload(page, n);
  const caption = await page.textContent('.bord-tabel caption');
  check('"Volgende 4 weken" shows the four weeks after', !/\(vandaag\)/.test(await page.textContent('#groepen')) &&
    await page.isEnabled('#eerder'), caption);
  n = await loads(page);
  await page.click('#eerder');
  await afterReload(page, n);

  // ---- a range on werkdagen ----
  const from = addDays(TODAY, 21), to = addDays(TODAY, 34);
  await fillEdit(page, APPROVAL, from, to, 'werkdagen', 4);
  n = await loads(page);
  await page.click('#opslaan');
  await page.waitForSelector('#opgeslagen');
  await afterReload(page, n);
  let nights = await nightsOf(APPROVAL, from, addDays(to, 1));
  const ok = Object.entries(nights).every(([d, c]) => c === ([0, 6].includes(weekday(d)) ? 3 : 4));
  check('a range "werkdagen, 4 bedden" wrote 4 on weekdays and left the weekend at 3', ok, JSON.stringify(nights));
  await expectNoAxeViolations(check, page, 'board after a saved change');

  // ---- a colleague's change between loading and saving ----
  const cFrom = addDays(TODAY, 14), cTo = addDays(TODAY, 20);
  // The colleague is a second planner of the same provider at another computer: a browser
  // context of their own (own cookies), logged in on the board, saving the same nights.
  const colleagueContext = await openContext();
  const colleague = await openPage(colleagueContext, problems);
  await login(colleague, 'planner@esdorp.demo.logeer.nl');
  const sessionOf = async (ctx) => ((await ctx.cookies(BASE)).find((c) => c.name === 'logeer_session') || {}).value;
  const [mine, theirs] = [await sessionOf(context), await sessionOf(colleagueContext)];
  check('a colleague logs in on the board in a second browser, with a session of their own',
    colleague.url().endsWith('/aanbieder/') && mine && theirs && mine !== theirs, colleague.url());
  await fillEdit(colleague, APPROVAL, cFrom, cTo, 'alle', 5);
  await colleague.click('#opslaan');
  await colleague.waitForSelector('#opgeslagen');
  check('the colleague sets 5 beds on the board meanwhile, and it is written',
    Object.values(await nightsOf(APPROVAL, cFrom, addDays(cTo, 1))).every((c) => c === 5));
  await colleague.close();
  await fillEdit(page, APPROVAL, cFrom, cTo, 'alle', 2);
  await page.click('#opslaan');
  await page.waitForSelector('#gewijzigd-door-ander');
  const told = await page.textContent('#gewijzigd-door-ander');
  check('the planner is told "In de tussentijd heeft iemand anders dit veranderd in 5 bedden"',
    /In de tussentijd heeft iemand anders dit veranderd in 5 bedden/.test(told), told);
  nights = await nightsOf(APPROVAL, cFrom, addDays(cTo, 1));
  check('nothing was overwritten: the colleague\'s 5 stands', Object.values(nights).every((c) => c === 5), JSON.stringify(nights));
  check('the message takes focus', await page.evaluate(() => document.activeElement.id) === 'wijzig-resultaat');
  await expectNoAxeViolations(check, page, 'board with a colleague\'s change reported');
  await shoot(page, 'tussentijd', '#wijzigen');
  n = await loads(page);
  await page.click('#opslaan');
  await page.waitForSelector('#opgeslagen');
  nights = await nightsOf(APPROVAL, cFrom, addDays(cTo, 1));
  check('saving again after reading the message writes 2', Object.values(nights).every((c) => c === 2), JSON.stringify(nights));

  // ---- lowering below what is booked ----
  await fillEdit(page, INSTANT, TODAY, TODAY, 'alle', 0);
  await page.click('#opslaan');
  await page.waitForSelector('#bezette-nachten');
  const refusal = await page.textContent('#wijzig-resultaat');
  check('lowering below what is booked is refused with the night and the stay named',
    /2 geboekt/.test(refusal) && /mevr\. Vandaag/.test(refusal) && /dhr\. Weg/.test(refusal) && /niets veranderd/.test(refusal), refusal);
  check('and nothing changed', (await nightsOf(INSTANT, TODAY, addDays(TODAY, 1)))[TODAY] === 3);
  await expectNoAxeViolations(check, page, 'board with a refused lowering');

  // ---- the edit flow by keyboard alone ----
  await page.goto(BASE + '/aanbieder/');
  await page.waitForSelector('body[data-bord="klaar"]');
  let tabs = 0;
  while (tabs < 40 && !(await page.evaluate(() => document.activeElement.classList.contains('cel')))) {
    await page.keyboard.press('Tab');
    tabs++;
  }
  check('Tab reaches the board\'s first night', await page.evaluate(() => document.activeElement.classList.contains('cel')), `${tabs} tabs`);
  const rowOf = await page.$$eval('.soort--planned .bord-tabel', (ts, id) =>
    [...ts[0].tBodies[0].rows].findIndex((r) => r.querySelector(`[data-pool="${id}"]`)), APPROVAL);
  for (let i = 0; i < rowOf; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  const target = await page.evaluate(() => ({ ...document.activeElement.dataset }));
  check('arrow keys and End move along the grid to the approval pool\'s last night of the week',
    target.pool === APPROVAL && weekday(target.date) === 0, JSON.stringify(target));
  await page.keyboard.press('ArrowLeft');
  const left = await page.evaluate(() => document.activeElement.dataset.date);
  check('ArrowLeft moves one night back', left === addDays(target.date, -1) || target.date === TODAY, left);
  await page.keyboard.press('Enter');
  check('Enter on a night opens it in the quick edit, cursor on the beds',
    await page.evaluate(() => document.activeElement.id) === 'bedden' &&
    await page.inputValue('#van') === left && await page.inputValue('#pool') === APPROVAL);
  await page.keyboard.type('1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#opgeslagen');
  check('typing a number and Enter saves it', (await nightsOf(APPROVAL, left, addDays(left, 1)))[left] === 1);
  await expectNoAxeViolations(check, page, 'board after a keyboard edit');

  // ---- CSV import: a template, a file with two bad lines (nothing written), then a good one ----
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sjabloon')]);
  const template = readFileSync(await download.path(), 'utf8');
  check('the template names the own pools with their codes and the four columns',
    template.startsWith('pool_id,first_night,last_night,beds') && template.includes(APPROVAL) && template.includes(INSTANT),
    template.slice(0, 120));
  const iFrom = addDays(TODAY, 40), iTo = addDays(TODAY, 42);
  const badCsv = 'pool_id;first_night;last_night;beds\n' +
    `${APPROVAL};${iFrom};${iTo};1\n` +
    `00000000-0000-4000-a000-00000000beef;${iFrom};${iTo};1\n` +
    `${INSTANT};${iFrom};${iTo};veel\n`;
  await page.setInputFiles('#bestand', { name: 'bedden.csv', mimeType: 'text/csv', buffer: Buffer.from(badCsv) });
  await page.click('#controleren');
  await page.waitForSelector('#import-fouten');
  const wrong = await page.$$eval('#import-fouten li', (lis) => lis.map((li) => li.dataset.regel + ' ' + li.textContent));
  check('both bad lines are named by number with a reason in Dutch (3: unknown group, 4: beds)',
    wrong.length === 2 && /^3 Regel 3: deze groep kennen we niet/.test(wrong[0]) && /^4 Regel 4: het aantal bedden/.test(wrong[1]), wrong.join(' | '));
  check('nothing of the bad file was written', Object.values(await nightsOf(APPROVAL, iFrom, addDays(iTo, 1))).every((c) => c === 3));
  await expectNoAxeViolations(check, page, 'import with bad lines');
  await shoot(page, 'inlezen', '#inlezen');
  const goodCsv = 'pool_id,first_night,last_night,beds\n' +
    `${APPROVAL},${iFrom},${iTo},1\n` + `${INSTANT},${iFrom},${iTo},2\n`;
  await page.setInputFiles('#bestand', { name: 'bedden.csv', mimeType: 'text/csv', buffer: Buffer.from(goodCsv) });
  await page.click('#controleren');
  await page.waitForSelector('#import-regels');
  check('a good file first shows what will change, and writes nothing yet',
    (await page.$$('#import-regels tbody tr')).length === 2 &&
    Object.values(await nightsOf(APPROVAL, iFrom, addDays(iTo, 1))).every((c) => c === 3));
  await expectNoAxeViolations(check, page, 'import preview');
  n = await loads(page);
  await page.click('#inlezen-knop');
  await page.waitForSelector('#ingelezen');
  await afterReload(page, n);
  check('"Inlezen" writes every line',
    Object.values(await nightsOf(APPROVAL, iFrom, addDays(iTo, 1))).every((c) => c === 1) &&
    Object.values(await nightsOf(INSTANT, iFrom, addDays(iTo, 1))).every((c) => c === 2));

  // ---- alles klopt nog ----
  n = await loads(page);
  await page.click('#alles-klopt');
  await page.waitForFunction(() => /Bedankt/.test(document.getElementById('klopt-resultaat').textContent));
  await afterReload(page, n);
  check('"Alles klopt nog" says what it confirmed', /bevestigd/.test(await page.textContent('#klopt-resultaat')));
  const pools = (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', '/v1/pools?limit=200')).json.pools;
  check('every own pool is fresh now (Respijtkamers included)', pools.length > 3 && pools.every((p) => !p.stale),
    pools.filter((p) => p.stale).map((p) => p.name).join(', '));
  check('the board no longer marks any pool stale', (await page.$$('.groep__verouderd')).length === 0);

  // ---- requests: accept one, decline one with a reason ----
  await page.click(`button[data-actie="accept"][data-stay="${E.BORD_STAY_ACCEPT}"]`);
  await page.waitForFunction(() => /geaccepteerd/.test(document.getElementById('melding').textContent));
  let stay = await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${E.BORD_STAY_ACCEPT}`);
  check('accepting confirms the stay', stay.json.status === 'confirmed', stay.json.status);
  await page.click(`button[data-actie="decline"][data-stay="${E.BORD_STAY_DECLINE}"]`);
  await page.waitForSelector('#bevestig[open]');
  await expectNoAxeViolations(check, page, 'decline dialog');
  await page.click('#bevestig-ja');
  await page.waitForSelector('#reden-error');
  check('declining without a reason asks for one, in Dutch, at the field', /reden/.test(await page.textContent('#reden-error')));
  await expectNoAxeViolations(check, page, 'decline dialog with an error');
  await page.fill('#reden', REASON);
  await page.click('#bevestig-ja');
  await page.waitForFunction(() => /afgewezen/.test(document.getElementById('melding').textContent));
  stay = await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${E.BORD_STAY_DECLINE}`);
  check('the caregiver\'s own view of the stay shows it declined with the planner\'s reason',
    stay.json.status === 'declined' && stay.json.decline_reason === REASON, JSON.stringify(stay.json.decline_reason));
  // The caregiver reads the reason in the portal, in a browser of their own.
  const caregiverContext = await openContext();
  const portal = await openPage(caregiverContext, problems);
  await portal.goto(BASE + '/mijn-logeerplekken.html');
  await portal.waitForURL(/inloggen\.html\?terug=/, { timeout: 10000 });
  await portal.waitForSelector('body[data-ready="true"]');
  await portal.fill('#email', E.BORD_CAREGIVER_EMAIL);
  await portal.fill('#password', E.BORD_CAREGIVER_PASSWORD);
  await Promise.all([portal.waitForURL(/\/mijn-logeerplekken\.html$/), portal.click('button[type="submit"]')]);
  await portal.waitForSelector('#lijst .status--declined', { timeout: 15000 });
  const declinedCards = await portal.$$eval('#lijst li', (lis) =>
    lis.filter((li) => li.querySelector('.status--declined')).map((li) => li.textContent));
  check('the caregiver sees the request declined in the portal, with the planner\'s reason in words',
    declinedCards.length === 1 && /afgewezen/.test(declinedCards[0]) && declinedCards[0].includes('Reden: ' + REASON),
    declinedCards.join(' | '));
  await expectNoAxeViolations(check, portal, 'portal with a declined request and its reason');
  await shoot(portal, 'portaal-afgewezen', '#lijst');
  await portal.close();

  check('the answered requests left the list',
    !(await page.$(`#aanvragen-lijst [data-stay="${E.BORD_STAY_ACCEPT}"]`)) && !(await page.$(`#aanvragen-lijst [data-stay="${E.BORD_STAY_DECLINE}"]`)));

  // ---- arrivals: check in, check out ----
  const arriving = E.BORD_STAY_ARRIVING;
  await page.click(`button[data-actie="check-in"][data-stay="${arriving}"]`);
  await page.waitForSelector('#bevestig[open]');
  check('checking in asks first, saying it cannot be undone', /niet terugdraaien/.test(await page.textContent('#bevestig-tekst')));
  await page.click('#bevestig-ja');
  await page.waitForFunction(() => /aangekomen/.test(document.getElementById('melding').textContent));
  stay = await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${arriving}`);
  check('the guest is checked in', stay.json.status === 'checked_in', stay.json.status);
  await page.click(`button[data-actie="check-out"][data-stay="${arriving}"]`);
  await page.waitForSelector('#bevestig[open]');
  await page.click('#bevestig-nee');
  check('"Nee, terug" closes the question and changes nothing', !(await page.$('#bevestig[open]')) &&
    (await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${arriving}`)).json.status === 'checked_in');
  await page.click(`button[data-actie="check-out"][data-stay="${arriving}"]`);
  await page.waitForSelector('#bevestig[open]');
  await page.click('#bevestig-ja');
  await page.waitForFunction(() => /vertrokken/.test(document.getElementById('melding').textContent));
  stay = await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${arriving}`);
  check('the guest is checked out: the stay is completed', stay.json.status === 'completed', stay.json.status);

  // ---- no-show and a cancellation by the provider, with a reason ----
  await page.click(`button[data-actie="no-show"][data-stay="${E.BORD_STAY_NO_SHOW}"]`);
  await page.waitForSelector('#bevestig[open]');
  await page.click('#bevestig-ja');
  await page.waitForFunction(() => /niet gekomen/.test(document.getElementById('melding').textContent));
  stay = await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${E.BORD_STAY_NO_SHOW}`);
  check('a guest who did not come is marked no-show', stay.json.status === 'no_show', stay.json.status);
  const CANCEL = 'De logeerkamer heeft een lekkage en moet dicht.';
  await page.click(`button[data-actie="cancel"][data-stay="${E.BORD_STAY_ACCEPT}"]`);
  await page.waitForSelector('#bevestig[open]');
  await page.fill('#reden', CANCEL);
  await page.click('#bevestig-ja');
  await page.waitForFunction(() => /geannuleerd/.test(document.getElementById('melding').textContent));
  stay = await apiAs(E.BORD_CAREGIVER_TOKEN, 'GET', `/v1/stays/${E.BORD_STAY_ACCEPT}`);
  check('the provider cancels an accepted stay; the caregiver reads the reason',
    stay.json.status === 'cancelled' && stay.json.cancel_reason === CANCEL, JSON.stringify(stay.json.cancel_reason));
  await expectNoAxeViolations(check, page, 'board after the stay actions');
  await shoot(page, 'verblijven', '#aanvragen');

  // ---- settings: a pool's rules, one refused value in words, a good change, a colleague's ----
  await Promise.all([page.waitForURL(/\/aanbieder\/instellingen\.html$/), page.click('header a[href="/aanbieder/instellingen.html"]')]);
  await page.waitForSelector('body[data-instellingen="klaar"]', { timeout: 15000 });
  await page.selectOption('#groep', APPROVAL);
  await page.waitForFunction((id) => document.body.dataset.groep === id, APPROVAL);
  let rules = (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${APPROVAL}`)).json;
  const shown = {};
  for (const k of ['min_nights', 'max_nights', 'lead_days', 'horizon_days']) shown[k] = Number(await page.inputValue('#' + k));
  check('the settings page, reached from the menu, shows the pool\'s rules as they are',
    Object.entries(shown).every(([k, v]) => rules[k] === v) &&
    await page.isChecked(`input[name="booking_mode"][value="${rules.booking_mode}"]`) &&
    (await page.$$eval('input[name="funding"]:checked', (cs) => cs.map((c) => c.value))).join() === [...rules.funding].sort((a, b) =>
      ['wmo', 'wlz', 'zvw', 'pgb', 'private'].indexOf(a) - ['wmo', 'wlz', 'zvw', 'pgb', 'private'].indexOf(b)).join(),
    JSON.stringify(shown));
  await expectNoAxeViolations(check, page, 'settings page');
  await page.fill('#min_nights', '3');
  await page.fill('#max_nights', '2');
  await page.click('#bewaren');
  await page.waitForSelector('#max_nights-error');
  const refused = await page.textContent('#max_nights-error');
  check('a maximum below the minimum is refused in a Dutch sentence next to the field',
    /Het grootste aantal nachten moet minstens zo groot zijn als het kleinste aantal\./.test(refused) &&
    await page.getAttribute('#max_nights', 'aria-invalid') === 'true' && /niet bewaard/.test(await page.textContent('.error-summary')), refused);
  check('and the rules did not change',
    (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${APPROVAL}`)).json.max_nights === rules.max_nights);
  await expectNoAxeViolations(check, page, 'settings with a refused value');
  await shoot(page, 'instellingen', '#regels');
  await page.fill('#min_nights', '2');
  await page.fill('#max_nights', '10');
  await page.fill('#lead_days', '1');
  await page.fill('#horizon_days', '300');
  await page.click('#bewaren');
  await page.waitForFunction(() => /bewaard/.test(document.getElementById('melding').textContent));
  rules = (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${APPROVAL}`)).json;
  check('good rules are written (2 to 10 nights, 1 day ahead, 300 days forward) and the errors are gone',
    rules.min_nights === 2 && rules.max_nights === 10 && rules.lead_days === 1 && rules.horizon_days === 300 &&
    !(await page.$('#max_nights-error')), JSON.stringify(rules));
  const meanwhile = await apiAs(E.BORD_COLLEAGUE_TOKEN, 'PATCH', `/v1/pools/${APPROVAL}`, { max_nights: 12 });
  check('(a colleague sets 12 nights at most meanwhile)', meanwhile.status === 200, JSON.stringify(meanwhile.json));
  await page.fill('#max_nights', '11');
  await page.click('#bewaren');
  await page.waitForFunction(() => /In de tussentijd/.test((document.querySelector('.error-summary') || {}).textContent || ''));
  check('saving over a colleague\'s change is refused, said in words, and the form shows their 12',
    await page.inputValue('#max_nights') === '12' &&
    (await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', `/v1/pools/${APPROVAL}`)).json.max_nights === 12);
  await expectNoAxeViolations(check, page, 'settings after a colleague\'s change');

  // ---- tablet width ----
  const tablet = await openPage(context, problems, { width: 768, height: 1024 });
  await tablet.goto(BASE + '/aanbieder/');
  await tablet.waitForSelector('body[data-bord="klaar"]');
  await tablet.waitForSelector('body[data-verblijven]');
  await expectNoAxeViolations(check, tablet, 'board at tablet width (768 px)');
  const fits = await tablet.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
  check('at tablet width the page itself does not scroll sideways (only a table may)', fits);
  await shoot(tablet, 'tablet');
  await tablet.setViewportSize({ width: 320, height: 640 });
  const wide = await tablet.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !(e.parentElement && e.parentElement.closest('.table-scroll')))
    .slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className).join(' '));
  check('at 320 px the page does not scroll sideways (the tables scroll in their own box)',
    await tablet.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), wide);
  await expectNoAxeViolations(check, tablet, 'board at 320 px');
  await tablet.goto(BASE + '/aanbieder/instellingen.html');
  await tablet.waitForSelector('body[data-instellingen="klaar"]', { timeout: 15000 });
  check('at 320 px the settings page does not scroll sideways either',
    await tablet.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth));
  await expectNoAxeViolations(check, tablet, 'settings at 320 px');
  await tablet.close();

  // ---- the other provider sees none of it ----
  const esdorpPools = new Set(pools.map((p) => p.id));
  const esdorpStays = new Set(((await apiAs(E.BORD_COLLEAGUE_TOKEN, 'GET', '/v1/stays?limit=200')).json.stays || []).map((s) => s.id));
  [E.BORD_STAY_ACCEPT, E.BORD_STAY_DECLINE, E.BORD_STAY_NO_SHOW, arriving].forEach((id) => esdorpStays.add(id));
  await Promise.all([page.waitForURL(/uitgelogd=1/), page.click('#uitloggen')]);
  await login(page, 'planner@hunzehof.demo.logeer.nl');
  const seenPools = await page.$$eval('[data-pool]', (bs) => [...new Set(bs.map((b) => b.dataset.pool))]);
  const seenStays = await page.$$eval('[data-stay]', (bs) => [...new Set(bs.map((b) => b.dataset.stay))]);
  const options = await page.$$eval('#pool option', (os) => os.map((o) => o.value).filter(Boolean));
  check('the Hunzehof planner sees a board of their own pools', seenPools.length > 0, seenPools.length);
  check('and none of Esdorp\'s pools, on the board or in the edit form',
    !seenPools.some((id) => esdorpPools.has(id)) && !options.some((id) => esdorpPools.has(id)));
  check('and none of Esdorp\'s stays or requests', !seenStays.some((id) => esdorpStays.has(id)));
  const text = await page.textContent('main');
  check('no Esdorp name or guest shows anywhere', !/Bordtest|Respijtkamers|Esdorp|mevr\. Vandaag|Akkoord/.test(text));
  await expectNoAxeViolations(check, page, 'the other provider\'s board');
  await page.setInputFiles('#bestand', { name: 'bedden.csv', mimeType: 'text/csv',
    buffer: Buffer.from(`pool_id,first_night,last_night,beds\n${APPROVAL},${iFrom},${iTo},9\n`) });
  await page.click('#controleren');
  await page.waitForSelector('#import-fouten');
  check('importing into an Esdorp pool is refused as an unknown group, nothing about it shown',
    /Regel 2: deze groep kennen we niet/.test(await page.textContent('#import-fouten')) &&
    !/Bordtest/.test(await page.textContent('main')) &&
    Object.values(await nightsOf(APPROVAL, iFrom, addDays(iTo, 1))).every((c) => c === 1));

  await page.goto(BASE + '/aanbieder/instellingen.html');
  await page.waitForSelector('body[data-instellingen="klaar"]', { timeout: 15000 });
  const settable = await page.$$eval('#groep option', (os) => os.map((o) => o.value));
  check('the Hunzehof planner\'s settings list only their own pools',
    settable.length > 0 && !settable.some((id) => esdorpPools.has(id)), settable.length);

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
});
