// dashboard.test.mjs: the coordinator's dashboard in a real browser (Debian's Chromium driven
// by playwright-core) against a running logeerd with the Drenthe demo data. Proves: the page
// loads under its Content-Security-Policy without errors, the header shows only the login's
// business before login (no live status, refresh or logout) and those controls after it, the
// coordinator can log in, the heat map renders with filled cells, a booking made through the
// API appears on the page without a reload (live, through GET /v1/events), and logging out
// hides the controls again. The session is a cookie script cannot read (nothing in web
// storage) and survives a reload; axe-core finds 0 WCAG 2.1 A/AA violations before and after
// login, and at 320 px the page does not scroll sideways. Saves a screenshot.
// The guarantee (issue 21): the demo's open escalation is listed with its deadline, place and
// the options the engine found, and the coordinator resolves it by keyboard alone (a missing
// choice first gives an error summary that leads back to the field); the API then holds the
// resolution and note, and the guarantee table counts it. The tables of the practice reports
// (guarantee, intakes with reasons, first stay, allowances, cancellations) and their charts
// render; axe finds nothing in these states either.
//
// Run by tests/integration/test_dashboard_browser.py, which starts the server; by hand:
//   LOGEER_URL=http://127.0.0.1:8080 node tests/browser/dashboard.test.mjs
// Environment: LOGEER_URL (required), LOGEER_SCREENSHOTS (comma-separated PNG paths to write),
// CHROMIUM (default /usr/bin/chromium).
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expectNoAxeViolations } from './lib/axe.mjs';

const BASE = process.env.LOGEER_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = (process.env.LOGEER_SCREENSHOTS || '').split(',').filter(Boolean);
const COORDINATOR = { email: 'aanjager@demo.logeer.nl', password: 'logeerzorg-demo' };
// Demo data: Logeerkamers at Logeerhuis De Es (Assen), a planned instant pool.
const DE_ES_LOCATION = 'd1000000-0000-4000-a000-000000000001';
const DE_ES_POOL = 'd2000000-0000-4000-a000-000000000001';
const NIGHTS = 3;

let failures = 0;
let checks = 0;
function check(name, ok, detail) {
  checks++;
  if (ok) {
    console.log(`ok    ${name}`);
  } else {
    failures++;
    console.log(`FAIL  ${name}${detail !== undefined ? ': ' + detail : ''}`);
  }
  return ok;
}

function amsterdamDay(offset) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(new Date());
  const d = new Date(today + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
}

async function api(method, path, body, token) {
  const headers = { Accept: 'application/json' };
  if (body) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const resp = await fetch(BASE + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: resp.status, json: await resp.json().catch(() => null) };
}

// The demo data shows a region at work (beds taken for the coming weeks, people waiting,
// crises); two searches that find nothing add to the unmet demand the page reports.
async function scenery() {
  const s = await api('POST', '/v1/sessions', { email: 'mantelzorger2@demo.logeer.nl', password: COORDINATOR.password });
  const token = s.json && s.json.token;
  for (const q of ['care_profile=youth&municipality=GM0114', 'care_profile=psychiatric&municipality=GM0119']) {
    await api('GET', `/v1/availability?check_in=${amsterdamDay(3)}&nights=3&${q}`, null, token);
  }
}

// The first day from `from` on with a free bed in the pool on NIGHTS nights, found the way a
// coordinator would (the demo has taken De Es's beds for the coming weeks). Within the heat
// map's twelve weeks.
async function firstFreeDay(token, pool, from) {
  for (let day = from; day < 7 * 11; day++) {
    const r = await api('GET', `/v1/availability?check_in=${amsterdamDay(day)}&nights=${NIGHTS}` +
      '&municipality=GM0106&care_profile=dementia&kind=planned&limit=100', null, token);
    if (r.json && (r.json.results || []).some((x) => x.pool_id === pool && x.check_in === amsterdamDay(day))) return day;
  }
  return null;
}

// The header's controls that belong to a logged-in session.
const SESSION_CONTROLS = ['#session', '#live', '#refresh', '#logout'];

async function visibleOf(page, selectors) {
  const shown = [];
  for (const sel of selectors) if (await page.isVisible(sel)) shown.push(sel);
  return shown;
}

async function bookedAt(page, locationId) {
  return page.$$eval(`#heatmap g.cell[data-location-id="${locationId}"]`,
    (cells) => cells.reduce((sum, c) => sum + Number(c.getAttribute('data-booked')), 0));
}

const $text = (_sel, t) => (t || '').trim();

// The guarantee table's cell for a municipality in the column with this header.
async function guaranteeCell(page, code, header) {
  return page.evaluate(([c, h]) => {
    const heads = [...document.querySelectorAll('#guarantee-table thead th')].map((th) => th.textContent);
    const i = heads.indexOf(h);
    const tr = document.querySelector(`#guarantee-table tbody tr[data-municipality="${c}"]`);
    return i < 0 || !tr ? null : tr.children[i].textContent;
  }, [code, header]);
}

// The coordinator resolves the escalation with the keyboard only: from the options table into
// the form, an empty choice first (error summary, its link back to the radios), then a choice
// with the arrow keys, a note and Enter.
async function resolveByKeyboard(page, escId, token) {
  const item = `#escalations li[data-escalation-id="${escId}"]`;
  const before = await guaranteeCell(page, 'GM1730', 'Iets anders aangeboden');
  await page.focus(`${item} .table-wrap`);
  await page.keyboard.press('Tab');
  const onRadio = await page.evaluate(() => document.activeElement && document.activeElement.name === 'resolution');
  check('Tab from the options reaches the choice of outcome', onRadio);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  const onButton = await page.evaluate(() => document.activeElement && document.activeElement.type === 'submit');
  check('Tab goes on through the note to the save button', onButton);
  await page.keyboard.press('Enter');
  const summary = await page.waitForSelector(`${item} .error-summary`, { timeout: 5000 }).then(() => true, () => false);
  check('saving without a choice shows an error summary in Dutch, with focus on it', summary &&
    /Kies hoe de escalatie is afgehandeld/.test(await page.textContent(`${item} .error-summary`)) &&
    await page.evaluate(() => document.activeElement.classList.contains('error-summary')));
  await expectNoAxeViolations(check, page, 'escalation form with an error');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  check('the summary\'s link takes the focus to the choice', await page.evaluate(
    () => document.activeElement && document.activeElement.name === 'resolution'));
  await page.keyboard.press('ArrowDown');
  const chosen = await page.evaluate(() => document.activeElement.checked && document.activeElement.value);
  check('the arrow key chooses "Iets anders aangeboden"', chosen === 'offered_alternative', chosen);
  await page.keyboard.press('Tab');
  const note = 'Plek in Tynaarlo aangeboden; familie belt terug';
  await page.keyboard.type(note);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  const done = await page.waitForSelector('#esc-status:not([hidden])', { timeout: 5000 }).then(() => true, () => false);
  check('the page says the escalation was resolved, and moves the focus there', done &&
    /Iets anders aangeboden/.test(await page.textContent('#esc-status')) &&
    await page.evaluate(() => document.activeElement && document.activeElement.id === 'esc-status'));
  const gone = await page.waitForSelector('#esc-none', { timeout: 10000 }).then(() => true, () => false);
  check('the escalation leaves the list of open ones', gone && Number(await page.textContent('#esc-count')) === 0);
  const read = await api('GET', `/v1/escalations/${escId}`, null, token);
  check('the API holds the resolution, the note and who resolved it', read.status === 200 && read.json &&
    read.json.status === 'resolved' && read.json.resolution === 'offered_alternative' && read.json.note === note &&
    read.json.resolved_by === 'coordinator', JSON.stringify(read.json && { s: read.json.status, r: read.json.resolution, n: read.json.note }));
  const counted = await page.waitForFunction(async ([b]) => {
    const heads = [...document.querySelectorAll('#guarantee-table thead th')].map((th) => th.textContent);
    const i = heads.indexOf('Iets anders aangeboden');
    const tr = document.querySelector('#guarantee-table tbody tr[data-municipality="GM1730"]');
    return i >= 0 && tr && Number(tr.children[i].textContent) === Number(b) + 1;
  }, [before], { timeout: 10000 }).then(() => true, () => false);
  check('the guarantee table counts it for Tynaarlo', counted, `before ${before}, after ${await guaranteeCell(page, 'GM1730', 'Iets anders aangeboden')}`);
  await expectNoAxeViolations(check, page, 'dashboard after resolving the escalation');
}

async function main() {
  if (!BASE) {
    console.log('FAIL  LOGEER_URL is set');
    process.exit(1);
  }
  const profile = mkdtempSync(join(tmpdir(), 'logeer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 900 },
    locale: 'nl-NL',
    timezoneId: 'Europe/Amsterdam'
  });
  const problems = [];
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      // A 401 from GET /v1/me before login is expected; Chromium logs it as an error.
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push('console: ' + m.text());
    });

    await scenery();
    const resp = await page.goto(BASE + '/dashboard/', { waitUntil: 'load' });
    check('GET /dashboard/ answers 200', resp.status() === 200, resp.status());
    const csp = resp.headers()['content-security-policy'] || '';
    check('the page comes with a strict Content-Security-Policy (no inline script)',
      csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), csp);
    check('the login form has labelled fields', await page.$$eval('label[for=email], label[for=password]', (l) => l.length) === 2);
    check('before login the login form is shown', await page.isVisible('#login-form'));
    await page.waitForSelector('body[data-ready="true"]');
    await expectNoAxeViolations(check, page, 'dashboard before login');
    const shownBefore = await visibleOf(page, SESSION_CONTROLS);
    check('before login the header shows no live status, refresh or logout button',
      shownBefore.length === 0, 'visible: ' + shownBefore.join(', '));
    const textBefore = await page.innerText('body');
    check('before login nothing on the page speaks of a connection, refreshing or logging out',
      !/Verbind|Vernieuwen|Uitloggen|Live/.test(textBefore), JSON.stringify(textBefore.slice(0, 200)));

    await page.fill('#email', COORDINATOR.email);
    await page.fill('#password', COORDINATOR.password);
    await page.press('#password', 'Enter');
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15000 });
    check('after logging in the dashboard is shown and the login form hidden',
      await page.isVisible('#dashboard') && !(await page.isVisible('#login')));
    const shownAfter = await visibleOf(page, SESSION_CONTROLS);
    check('after logging in the header shows the live status, refresh and logout button',
      shownAfter.length === SESSION_CONTROLS.length, 'visible: ' + shownAfter.join(', '));
    const storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length,
      cookie: document.cookie }));
    check('no token in web storage, and script cannot read the session cookie',
      storage.local === 0 && storage.session === 0 && !storage.cookie.includes('logeer_session'),
      JSON.stringify(storage));
    const jar = Object.fromEntries((await context.cookies(BASE)).map((c) => [c.name, c]));
    check('the session is an HttpOnly, SameSite=Strict cookie',
      jar.logeer_session && jar.logeer_session.httpOnly && jar.logeer_session.sameSite === 'Strict');

    const cells = await page.$$eval('#heatmap g.cell', (cs) => cs.map((c) => ({
      capacity: Number(c.getAttribute('data-capacity')), text: c.querySelector('text').textContent })));
    const filled = cells.filter((c) => c.capacity > 0 && /%$/.test(c.text));
    check('the heat map renders cells with percentages in them', filled.length >= 10,
      `${filled.length} of ${cells.length} cells filled`);
    const locations = await page.$$eval('#heat-table tbody tr', (rows) => rows.length);
    check('the heat map has an accessible table fallback with a row per location', locations >= 5, locations);
    const stale = await page.$$eval('#stale-table tbody tr', (rows) => rows.length);
    check('the stale providers table lists the demo\'s two stale pools', stale === 2, stale);
    const demandRows = await page.$$eval('#demand-table tbody tr', (rows) => rows.length);
    check('the demand table has a row per municipality (12)', demandRows === 12, demandRows);

    const esc = await page.$$eval('#escalations li[data-escalation-id]', (items) => items.map((li) => ({
      id: li.getAttribute('data-escalation-id'),
      text: li.innerText,
      options: [...li.querySelectorAll('tr[data-option]')].map((tr) => tr.getAttribute('data-option'))
    })));
    check('the demo\'s one open escalation is listed', esc.length === 1 && $text('#esc-count', await page.textContent('#esc-count')) === '1',
      JSON.stringify(esc));
    const demoEsc = esc[0] || { id: '', text: '', options: [] };
    check('it shows the deadline, the municipality, the asked dates and place in Dutch',
      /Uiterste datum/.test(demoEsc.text) && /Tynaarlo/.test(demoEsc.text) && /3 nachten/.test(demoEsc.text) &&
      /Logeerhuis De Es/.test(demoEsc.text) && /Open sinds/.test(demoEsc.text), demoEsc.text.slice(0, 400));
    check('it lists the options the engine found (another location, other dates or lengths)',
      demoEsc.options.length >= 2 && demoEsc.options.includes('pool'), demoEsc.options.join(','));
    for (const [sel, min, what] of [['#guarantee-table tbody tr', 1, 'guarantee per quarter and municipality'],
      ['#intakes-table tbody tr', 1, 'intakes per month and location'], ['#intakes-reasons li', 1, 'reasons for "past niet"'],
      ['#firststay-table tbody tr', 1, 'time to a first stay'], ['#allowance-table tbody tr', 1, 'nights against allowances'],
      ['#allowance-months tbody tr', 1, 'nights against allowances per month'], ['#cancel-table tbody tr', 1, 'cancellations']]) {
      const n = await page.$$eval(sel, (r) => r.length);
      check(`the table of ${what} renders rows (${n})`, n >= min, n);
    }
    const charts = await page.$$eval('#guarantee-chart svg[role=img], #intakes-chart svg[role=img], #allowance-chart svg[role=img]',
      (svgs) => svgs.filter((x) => (x.getAttribute('aria-labelledby') || '').split(' ').every((id) => document.getElementById(id))).length);
    check('the guarantee, intake and allowance charts are drawn as named images', charts === 3, charts);

    await page.waitForSelector('#live.on', { timeout: 10000 });
    check('the live indicator says the event stream is connected', true);
    await expectNoAxeViolations(check, page, 'dashboard after login');

    const bookedBefore = await bookedAt(page, DE_ES_LOCATION);
    const diversionsBefore = Number(await page.textContent('#kpi-diversions'));
    const refreshesBefore = Number(await page.evaluate(() => document.body.dataset.refreshes));
    await page.evaluate(() => { window.__sameDocument = 'yes'; });

    // A booking through the API, made outside the page: a diversion (crisis stay in a planned
    // pool) by the coordinator is confirmed at once, so its nights count as booked.
    const session = await api('POST', '/v1/sessions', COORDINATOR);
    const day = await firstFreeDay(session.json && session.json.token, DE_ES_POOL, 8);
    check(`De Es has ${NIGHTS} free nights in a row within the heat map's weeks`, day !== null);
    const stay = await api('POST', '/v1/stays', {
      pool_id: DE_ES_POOL, check_in: amsterdamDay(day), check_out: amsterdamDay(day + NIGHTS), funding: 'zvw',
      guest: { alias: 'dhr. T.', birth_year: 1942, care_profile: 'dementia', needs: [] },
      diversion_reason: 'Browsertest: geen crisisbed vrij'
    }, session.json && session.json.token);
    check('the API confirms the booking (201 confirmed)', stay.status === 201 && stay.json && stay.json.status === 'confirmed',
      JSON.stringify(stay));
    const stayId = stay.json && stay.json.id;

    const seen = await page.waitForSelector(`#events li[data-stay-id="${stayId}"]`, { timeout: 5000 })
      .then(() => true, () => false);
    check('the booking appears in the live list without a reload', seen);
    const grew = await page.waitForFunction(([loc, want]) => {
      const cells = document.querySelectorAll(`#heatmap g.cell[data-location-id="${loc}"]`);
      let sum = 0;
      cells.forEach((c) => { sum += Number(c.getAttribute('data-booked')); });
      return sum === want;
    }, [DE_ES_LOCATION, bookedBefore + NIGHTS], { timeout: 10000 }).then(() => true, () => false);
    const bookedAfter = await bookedAt(page, DE_ES_LOCATION);
    check(`the heat map row of De Es shows ${NIGHTS} more booked nights`, grew,
      `before ${bookedBefore}, after ${bookedAfter}`);
    const diversionsAfter = Number(await page.textContent('#kpi-diversions'));
    check('the diversion counter went up by one', diversionsAfter === diversionsBefore + 1,
      `${diversionsBefore} -> ${diversionsAfter}`);
    check('the page was not reloaded (same document, reports refreshed in place)',
      await page.evaluate(() => window.__sameDocument) === 'yes' &&
      Number(await page.evaluate(() => document.body.dataset.refreshes)) > refreshesBefore);

    // A reload keeps the cookie session: the figures come back without a new login.
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15000 });
    check('after a reload the dashboard is still logged in (cookie session)', await page.isVisible('#dashboard'));
    await page.waitForSelector('#live.on', { timeout: 10000 });

    const narrow = await context.newPage();
    await narrow.setViewportSize({ width: 320, height: 640 });
    await narrow.goto(BASE + '/dashboard/', { waitUntil: 'load' });
    await narrow.waitForSelector('body[data-loaded="true"]', { timeout: 15000 });
    check('at 320 px the dashboard does not scroll sideways',
      await narrow.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth),
      await narrow.evaluate(() => document.documentElement.scrollWidth));
    await expectNoAxeViolations(check, narrow, 'dashboard at 320 px');
    await narrow.close();

    for (const shot of SHOTS) {
      mkdirSync(dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`      screenshot saved to ${shot}`);
    }
    await resolveByKeyboard(page, demoEsc.id, session.json && session.json.token);

    await page.click('#logout');
    const loggedOut = await page.waitForSelector('#login-form', { state: 'visible', timeout: 5000 })
      .then(() => true, () => false);
    check('logging out shows the login form again', loggedOut && !(await page.isVisible('#dashboard')));
    const shownOut = await visibleOf(page, SESSION_CONTROLS);
    check('after logging out the live status, refresh and logout button are gone again',
      shownOut.length === 0, 'visible: ' + shownOut.join(', '));
    check('no script errors or CSP violations on the page', problems.length === 0, problems.join(' | '));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => {
  console.log(`${checks - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}, (e) => {
  console.log(`FAIL  the browser test ran to the end: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
