// open-data.test.mjs: the public page "Vrije logeerplekken" and the two "Agenda koppelen"
// parts, in a real browser (Debian's Chromium through playwright-core) against the logeerd
// with the Drenthe demo data that tests/integration/test_open_data_browser.py started.
// Proves: a visitor without an account sees a chart per municipality whose numbers are the
// API's, opens the same figures as a table by keyboard, and finds the CSV, the JSON and the
// CC0 licence; a caregiver makes a calendar link on Mijn gegevens by keyboard, sees it once,
// the link serves a calendar, and stopping it makes it 404; a planner shows a location apart
// in the open figures and makes that location's calendar link on "Agenda en open cijfers".
// 0 axe violations in every state, nothing scrolls sideways at 320 px, no script errors or
// CSP violations.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const PASSWORD = process.env.LOGEER_PASSWORD;

async function logIn(page, email) {
  await page.goto(BASE + '/inloggen.html');
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => u.pathname !== '/inloggen.html', { timeout: 10000 });
}

// Presses Tab until the element matching selector has focus (at most max presses).
async function tabTo(page, selector, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
    await page.keyboard.press('Tab');
  }
  return false;
}

async function narrow(page, label) {
  await page.setViewportSize({ width: 320, height: 800 });
  check(`${label}: nothing scrolls sideways at 320 px`, await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function visitor(context, problems) {
  const page = await openPage(context, problems);
  await page.goto(BASE + '/vrije-logeerplekken.html');
  await page.waitForSelector('body[data-geladen="true"]', { timeout: 20000 });
  const api = await (await page.request.get(BASE + '/v1/open/availability')).json();
  check('the page shows every municipality of the region',
    await page.locator('section.open-gemeente').count() === api.municipalities.length);
  check('the menu has "Vrije plekken", marked as this page',
    await page.getAttribute('a.nav__link[href="/vrije-logeerplekken.html"]', 'aria-current') === 'page');
  const withBeds = api.municipalities.find((m) => m.weeks.some((w) => w.bed_nights > 0));
  const sel = `#gemeente-${withBeds.code}`;
  const chart = page.locator(`${sel} svg[role="img"]`);
  check(`${withBeds.name} has a chart with a name`, (await chart.getAttribute('aria-label') || '').includes(withBeds.name));
  const numbers = await page.$$eval(`${sel} svg text.grafiek__getal`, (ts) => ts.map((t) => Number(t.textContent)));
  check(`the chart's numbers are the API's free nights per week (${withBeds.name})`,
    JSON.stringify(numbers) === JSON.stringify(withBeds.weeks.map((w) => w.free_nights)), JSON.stringify(numbers));
  await expectNoAxeViolations(check, page, 'Vrije logeerplekken');
  check('by keyboard: Tab reaches the table switch of ' + withBeds.name, await tabTo(page, `${sel} summary`, 200));
  await page.keyboard.press('Enter');
  const table = page.locator(`${sel} table`);
  check('Enter opens the table with the same figures', await table.isVisible());
  const cells = await page.$$eval(`${sel} table tbody tr td:nth-child(2)`, (tds) => tds.map((td) => Number(td.textContent.replace(/\./g, ''))));
  check('the table says the same as the chart', JSON.stringify(cells) === JSON.stringify(numbers), JSON.stringify(cells));
  await expectNoAxeViolations(check, page, 'Vrije logeerplekken with a table open');
  for (const [id, type] of [['#download-csv', 'text/csv'], ['#download-json', 'application/json']]) {
    const href = await page.getAttribute(id, 'href');
    const resp = await page.request.get(BASE + href);
    check(`the download link ${href} gives ${type}`, resp.ok() && (resp.headers()['content-type'] || '').startsWith(type));
  }
  check('the licence CC0 is named and linked',
    await page.locator('a[href^="https://creativecommons.org/publicdomain/zero/1.0/"]').count() === 1);
  await narrow(page, 'Vrije logeerplekken');
  await page.close();
}

async function caregiver(problems) {
  const context = await openContext();
  const page = await openPage(context, problems);
  await logIn(page, 'mantelzorger@demo.logeer.nl');
  await page.goto(BASE + '/mijn-gegevens.html');
  await page.waitForSelector('#agenda[data-agenda="uit"]', { timeout: 20000 });
  await expectNoAxeViolations(check, page, 'Mijn gegevens with Agenda koppelen (no link yet)');
  check('by keyboard: Tab reaches "Maak een agenda-link"', await tabTo(page, '#agenda button'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#agenda[data-agenda="nieuw"]', { timeout: 10000 });
  const url = await page.inputValue('#agenda-url');
  check('the link is shown once, as a feed URL of this site', url.startsWith(BASE + '/v1/feeds/') && url.endsWith('.ics'), url);
  const feed = await page.request.get(url);
  check('the link serves a calendar', feed.ok() && (feed.headers()['content-type'] || '').startsWith('text/calendar'));
  await expectNoAxeViolations(check, page, 'Mijn gegevens with a new calendar link');
  await narrow(page, 'Mijn gegevens with a new calendar link');
  await page.reload();
  await page.waitForSelector('#agenda[data-agenda="aan"]', { timeout: 20000 });
  check('after a reload the link is not shown again', await page.locator('#agenda-url').count() === 0);
  await expectNoAxeViolations(check, page, 'Mijn gegevens with a live calendar link');
  await page.getByRole('button', { name: 'Stop de link' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#agenda[data-agenda="uit"]', { timeout: 10000 });
  check('stopping says so in words', (await page.textContent('#agenda')).includes('werkt niet meer'));
  check('and the old link answers 404', (await page.request.get(url)).status() === 404);
  await expectNoAxeViolations(check, page, 'Mijn gegevens after stopping the link');
  await context.close();
}

async function planner(problems) {
  const context = await openContext();
  const page = await openPage(context, problems);
  await logIn(page, 'planner@esdorp.demo.logeer.nl');
  await page.goto(BASE + '/aanbieder/delen.html');
  await page.waitForSelector('body[data-delen="klaar"]', { timeout: 20000 });
  await page.waitForSelector('#agenda[data-agenda]', { timeout: 10000 });
  check('the board menu has "Agenda en open cijfers", marked as this page',
    await page.getAttribute('a.nav__link[href="/aanbieder/delen.html"]', 'aria-current') === 'page');
  await expectNoAxeViolations(check, page, 'Agenda en open cijfers');
  const location = await page.inputValue('#locatie');
  check('by keyboard: Tab reaches the open-figures choice', await tabTo(page, '#publish_location'));
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#open-melding [role="status"]', { timeout: 10000 });
  const setting = await (await page.request.get(`${BASE}/v1/locations/${location}/open-data`)).json();
  check('the choice is saved: the location shows apart', setting.publish_location === true, JSON.stringify(setting));
  const open = await (await page.request.get(BASE + '/v1/open/availability')).json();
  check('and the open figures list it', open.municipalities.some((m) => m.locations.some((l) => l.id === location)));
  await page.getByRole('button', { name: 'Maak een agenda-link' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#agenda[data-agenda="nieuw"]', { timeout: 10000 });
  const url = await page.inputValue('#agenda-url');
  const feed = await page.request.get(url);
  check("the location's link serves a calendar named after it", feed.ok() && (await feed.text()).includes('X-WR-CALNAME:Logeergasten'));
  await expectNoAxeViolations(check, page, 'Agenda en open cijfers with a new calendar link');
  await narrow(page, 'Agenda en open cijfers');
  await context.close();
}

run(async (context) => {
  const problems = [];
  await visitor(context, problems);
  await caregiver(problems);
  await planner(problems);
  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
