// board-isolation.test.mjs: two providers' planners, each in a browser context of their own
// (own profile, own cookie session), on the bed board and its settings page. Proves that
// provider A (Zorggroep Esdorp) sees its own pools, stays, import results and deep links (so
// every check on B below can fail), including an import refusal that names the stays on the
// nights; and that provider B (Hunzehof) sees none of A's pools, stays, intakes or import
// results on the board, in the edit form, in an import naming A's pools, or through its own
// cookie session as the pages call the API; deep links to A's pool and location on B's
// settings page say "niet gevonden" and "geen toegang" in Dutch and show nothing of A. 0 axe
// violations in every state checked.
//
// Run by tests/integration/test_board_isolation_browser.py; by hand it needs the ISO_*
// variables that script sets.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, openContext, openPage, run } from './lib/run.mjs';

const E = process.env;
const TODAY = E.ISO_TODAY;
const A_POOLS = [E.ISO_POOL_APPROVAL, E.ISO_POOL_INSTANT];
const A_STAYS = [E.ISO_STAY_REQUESTED, E.ISO_STAY_CONFIRMED];
const A_NAMES = /Geheimhof|mevr\. Geheim|dhr\. Verborgen|mevr\. Kennismaking|Esdorp|Respijtkamers/;
const PASSWORD = 'logeerzorg-demo';

function addDays(ymd, n) {
  const d = new Date(ymd + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
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

// What the board shows of pools and stays: ids in data attributes, option values, text.
async function seen(page) {
  return page.evaluate(() => ({
    pools: [...new Set([...document.querySelectorAll('[data-pool]')].map((e) => e.dataset.pool))],
    stays: [...new Set([...document.querySelectorAll('[data-stay], [data-stay-id]')].map((e) => e.dataset.stay || e.dataset.stayId))],
    options: [...document.querySelectorAll('select option')].map((o) => o.value).filter(Boolean),
    text: document.querySelector('main').textContent
  }));
}

// The API as the page calls it: the browser's own cookie session and CSRF token (common/api.js).
async function asPage(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const { api, ApiError } = await import('/common/api.js');
    try {
      return { status: 200, json: await api(m, p, b) };
    } catch (e) {
      if (e instanceof ApiError) return { status: e.status, json: e.problem };
      throw e;
    }
  }, [method, path, body]);
}

async function importCsv(page, csv) {
  await page.setInputFiles('#bestand', { name: 'bedden.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('#controleren');
  await page.waitForSelector('#import-fouten, #import-regels', { timeout: 15000 });
}

async function settings(page, query) {
  await page.goto(BASE + '/aanbieder/instellingen.html' + query);
  await page.waitForSelector('body[data-instellingen="klaar"]', { timeout: 15000 });
}

run(async (contextA) => {
  const problems = [];

  // ---- provider A sees its own data (so that the checks on B can fail) ----
  const a = await openPage(contextA, problems);
  await login(a, 'planner@esdorp.demo.logeer.nl');
  let s = await seen(a);
  check('A\'s board shows A\'s two new pools and their requests and stays',
    A_POOLS.every((id) => s.pools.includes(id) && s.options.includes(id)) && s.stays.includes(E.ISO_STAY_REQUESTED) &&
    /Geheimhof/.test(s.text) && /mevr\. Geheim/.test(s.text) && /dhr\. Verborgen/.test(s.text), JSON.stringify(s.pools));
  const iFrom = addDays(TODAY, 30), iTo = addDays(TODAY, 31);
  await importCsv(a, `pool_id,first_night,last_night,beds\n${E.ISO_POOL_APPROVAL},${iFrom},${iTo},2\n`);
  check('A\'s import preview names A\'s own pool', /Geheimhof aanvragen/.test(await a.textContent('#import-resultaat')));
  // Lowering A's instant pool to 0 on the nights dhr. Verborgen stays: refused, stays named.
  const belowCsv = `pool_id,first_night,last_night,beds\n${E.ISO_POOL_INSTANT},${TODAY},${addDays(TODAY, 1)},0\n`;
  await importCsv(a, belowCsv);
  const named = await a.$$eval('#import-fouten .import-verblijven li', (lis) => lis.map((li) => li.dataset.stayId + ' ' + li.textContent));
  check('an import line below what is booked names the stay on those nights, with the guest and dates',
    named.length === 1 && named[0].startsWith(E.ISO_STAY_CONFIRMED) && /dhr\. Verborgen/.test(named[0]) && /bevestigd/i.test(named[0]),
    named.join(' | '));
  await expectNoAxeViolations(check, a, 'A\'s import refusal naming the stays');
  await settings(a, '?groep=' + E.ISO_POOL_APPROVAL + '&locatie=' + E.ISO_LOCATION);
  check('A\'s deep links open A\'s pool and location on the settings page',
    await a.getAttribute('body', 'data-groep') === E.ISO_POOL_APPROVAL &&
    await a.getAttribute('body', 'data-locatie') === E.ISO_LOCATION && await a.isVisible('#regels') && await a.isVisible('#locatie-form'));
  const own = await asPage(a, 'GET', '/v1/intakes?limit=200');
  check('A\'s own session lists the intake at A\'s location', own.status === 200 &&
    (own.json.intakes || []).some((i) => i.id === E.ISO_INTAKE), JSON.stringify(own).slice(0, 200));

  // ---- provider B, in a browser of their own ----
  const contextB = await openContext();
  const b = await openPage(contextB, problems);
  await login(b, 'planner@hunzehof.demo.logeer.nl');
  const cookie = async (ctx) => ((await ctx.cookies(BASE)).find((c) => c.name === 'logeer_session') || {}).value;
  const [ca, cb] = [await cookie(contextA), await cookie(contextB)];
  check('A and B are logged in in two browsers, with sessions of their own', ca && cb && ca !== cb);
  s = await seen(b);
  check('B\'s board shows B\'s own pools', s.pools.length > 0, s.pools.length);
  check('and none of A\'s pools, on the board or in any list to choose from',
    !s.pools.some((id) => A_POOLS.includes(id)) && !s.options.some((id) => A_POOLS.includes(id)), JSON.stringify(s.options));
  check('and none of A\'s stays or requests', !s.stays.some((id) => A_STAYS.includes(id)), JSON.stringify(s.stays));
  check('no name of A, A\'s pools or A\'s guests shows on B\'s board', !A_NAMES.test(s.text), (s.text.match(A_NAMES) || [])[0]);
  await expectNoAxeViolations(check, b, 'B\'s board');

  // An import naming A's pools: if scoping failed, the refusal would name A's stays.
  await importCsv(b, `pool_id,first_night,last_night,beds\n${E.ISO_POOL_APPROVAL},${iFrom},${iTo},2\n` +
    `${E.ISO_POOL_INSTANT},${TODAY},${addDays(TODAY, 1)},0\n`);
  const refusal = await b.textContent('#import-resultaat');
  check('B\'s import naming A\'s pools is refused line by line as unknown groups',
    /Regel 2: deze groep kennen we niet/.test(refusal) && /Regel 3: deze groep kennen we niet/.test(refusal), refusal);
  s = await seen(b);
  check('and shows nothing of A: no pool name, no stay, no guest', !A_NAMES.test(s.text) &&
    !(await b.$('.import-verblijven')) && !s.stays.some((id) => A_STAYS.includes(id)), (s.text.match(A_NAMES) || [])[0]);
  await expectNoAxeViolations(check, b, 'B\'s import refused for A\'s pools');

  // B's own cookie session, as the pages use it: lists and reads of A's objects.
  const lists = {
    pools: await asPage(b, 'GET', '/v1/pools?limit=200'),
    stays: await asPage(b, 'GET', '/v1/stays?limit=200'),
    intakes: await asPage(b, 'GET', '/v1/intakes?limit=200'),
    locations: await asPage(b, 'GET', '/v1/locations?limit=200')
  };
  const ids = (r, key) => ((r.json || {})[key] || []).map((x) => x.id);
  check('B\'s session lists its own pools but none of A\'s', lists.pools.status === 200 &&
    ids(lists.pools, 'pools').length > 0 && !ids(lists.pools, 'pools').some((id) => A_POOLS.includes(id)));
  check('none of A\'s stays', lists.stays.status === 200 && !ids(lists.stays, 'stays').some((id) => A_STAYS.includes(id)));
  check('none of A\'s intakes', lists.intakes.status === 200 && !ids(lists.intakes, 'intakes').includes(E.ISO_INTAKE),
    JSON.stringify(lists.intakes).slice(0, 200));
  check('none of A\'s locations', lists.locations.status === 200 && !ids(lists.locations, 'locations').includes(E.ISO_LOCATION));
  const reads = [
    await asPage(b, 'GET', '/v1/pools/' + E.ISO_POOL_APPROVAL),
    await asPage(b, 'GET', '/v1/stays/' + E.ISO_STAY_CONFIRMED),
    await asPage(b, 'GET', '/v1/intakes/' + E.ISO_INTAKE),
    await asPage(b, 'GET', '/v1/locations/' + E.ISO_LOCATION),
    await asPage(b, 'GET', `/v1/pools/${E.ISO_POOL_INSTANT}/capacity`)
  ];
  check('reading A\'s pool, stay, intake, location or capacity by id is 404 (not found, not "forbidden")',
    reads.every((r) => r.status === 404), reads.map((r) => r.status).join(','));
  const confirm = await asPage(b, 'POST', `/v1/pools/${E.ISO_POOL_APPROVAL}/capacity/confirm`);
  check('confirming A\'s counts is 404 too', confirm.status === 404, confirm.status);

  // ---- deep links to A's pool and location on B's settings page ----
  await settings(b, '?groep=' + E.ISO_POOL_APPROVAL);
  check('a link to A\'s pool says, in Dutch, not found and no access',
    await b.getAttribute('body', 'data-groep') === 'niet-gevonden' &&
    /niet gevonden/.test(await b.textContent('#groep-fout')) && /geen toegang/.test(await b.textContent('#groep-fout')),
    await b.textContent('#groep-fout'));
  s = await seen(b);
  check('and shows none of A\'s pool: no rules form, no name, not in the list',
    await b.isHidden('#regels') && !A_NAMES.test(s.text) && !s.options.some((id) => A_POOLS.includes(id)));
  await expectNoAxeViolations(check, b, 'settings with a link to another provider\'s pool');
  await settings(b, '?locatie=' + E.ISO_LOCATION);
  check('a link to A\'s location says, in Dutch, not found and no access',
    await b.getAttribute('body', 'data-locatie') === 'niet-gevonden' &&
    /niet gevonden/.test(await b.textContent('#locatie-fout')) && /geen toegang/.test(await b.textContent('#locatie-fout')),
    await b.textContent('#locatie-fout'));
  s = await seen(b);
  check('and shows none of A\'s location: no facilities form, no name',
    await b.isHidden('#locatie-form') && !A_NAMES.test(s.text) && !s.options.includes(E.ISO_LOCATION));
  await expectNoAxeViolations(check, b, 'settings with a link to another provider\'s location');
  // Choosing one of B's own afterwards works as usual.
  const first = await b.$eval('#locatie option[value]:not([value=""])', (o) => o.value);
  await b.selectOption('#locatie', first);
  await b.waitForFunction((id) => document.body.dataset.locatie === id, first);
  check('after such a link B can choose an own location and sees its facilities', await b.isVisible('#locatie-form'));

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
});
