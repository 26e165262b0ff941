// board-keyboard.test.mjs: the bed board's edit flows with the keyboard alone: no click, no
// fill(), no focus() by the test; only Tab, Shift+Tab, Enter, Space, arrow keys and typing.
// Proves: a planner logs in; the quick edit changes a range (from a night chosen in the grid,
// "tot en met" typed into the date field, "alleen op werkdagen" chosen with an arrow key, the
// beds typed, Enter) and it is written for weekdays only; the settings page is reached from the
// menu, a pool chosen with the arrow keys, a refused value is announced in the error summary
// whose link (Enter) takes the cursor to the field, a good value and a funding checkbox
// (Space) are saved; a location's facilities are changed (Space on a checkbox, words typed),
// a word the API cannot take is refused in Dutch at its field, and a colleague's change made
// meanwhile is reported ("In de tussentijd ...", what they changed named) and not
// overwritten. Every state is checked with axe (0 violations).
//
// Run by tests/integration/test_board_keyboard_browser.py; by hand it needs the KEY_*
// variables that script sets.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, openPage, run } from './lib/run.mjs';

const E = process.env;
const TODAY = E.KEY_TODAY;
const POOL = E.KEY_POOL;
const LOCATION = E.KEY_LOCATION;

function addDays(ymd, n) {
  const d = new Date(ymd + 'T12:00:00Z');
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
const weekday = (ymd) => new Date(ymd + 'T12:00:00Z').getUTCDay();

async function apiAs(method, path, body, headers = {}) {
  const resp = await fetch(BASE + path, {
    method, headers: { Authorization: 'Bearer ' + E.KEY_COLLEAGUE_TOKEN, 'Content-Type': 'application/json', ...headers },
    body: body ? JSON.stringify(body) : undefined
  });
  const text = await resp.text();
  return { status: resp.status, json: text ? JSON.parse(text) : null, etag: resp.headers.get('ETag') };
}

const active = (page, selector) => page.evaluate((sel) => !!document.activeElement && document.activeElement.matches(sel), selector);

// Presses Tab (or Shift+Tab) until the focused element matches selector; false if it never does.
async function tabTo(page, selector, back = false, max = 120) {
  for (let i = 0; i < max; i++) {
    if (await active(page, selector)) return true;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  return active(page, selector);
}

// Types a date into the focused date field, whose parts (day, month, year) are Tab stops in an
// order that depends on the browser's language: each part is found with ArrowUp (and put back
// with ArrowDown), then the parts are typed in that order.
async function typeDate(page, ymd) {
  const order = [];
  for (let i = 0; i < 3; i++) {
    const before = (await page.evaluate(() => document.activeElement.value)).split('-');
    await page.keyboard.press('ArrowUp');
    const after = (await page.evaluate(() => document.activeElement.value)).split('-');
    await page.keyboard.press('ArrowDown');
    order.push(after[0] !== before[0] ? 0 : after[1] !== before[1] ? 1 : 2);
    if (i < 2) await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Shift+Tab');
  const parts = ymd.split('-');
  for (const k of order) await page.keyboard.type(parts[k]);
}

// Chooses an option of the focused select with the arrow keys.
async function arrowTo(page, value, max = 60) {
  for (let i = 0; i < max && (await page.evaluate(() => document.activeElement.value)) !== value; i++)
    await page.keyboard.press('ArrowDown');
  return (await page.evaluate(() => document.activeElement.value)) === value;
}

async function replaceText(page, text) {
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text);
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);

  // ---- log in by keyboard ----
  await page.goto(BASE + '/aanbieder/');
  await page.waitForURL(/inloggen\.html\?terug=/, { timeout: 10000 });
  await page.waitForSelector('body[data-ready="true"]');
  check('Tab reaches the e-mail field', await tabTo(page, '#email'));
  await page.keyboard.type('planner@esdorp.demo.logeer.nl');
  await page.keyboard.press('Tab');
  await page.keyboard.type('logeerzorg-demo');
  await Promise.all([page.waitForURL(/\/aanbieder\/$/), page.keyboard.press('Enter')]);
  await page.waitForSelector('body[data-bord="klaar"]', { timeout: 15000 });
  await page.waitForSelector('body[data-verblijven]', { timeout: 15000 });
  check('Enter in the password field logs in and returns to the board', page.url().endsWith('/aanbieder/'));

  // ---- quick edit of a range, keyboard only ----
  check('Tab reaches the board\'s first night', await tabTo(page, 'button.cel'));
  const rowOf = await page.$$eval('.soort--planned .bord-tabel', (ts, id) =>
    [...ts[0].tBodies[0].rows].findIndex((r) => r.querySelector(`[data-pool="${id}"]`)), POOL);
  for (let i = 0; i < rowOf; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  const start = await page.evaluate(() => ({ ...document.activeElement.dataset }));
  check('arrow keys and End reach the test pool\'s Sunday', start.pool === POOL && weekday(start.date) === 0, JSON.stringify(start));
  await page.keyboard.press('Enter');
  check('Enter opens that night in the quick edit, cursor on the beds',
    await active(page, '#bedden') && await page.inputValue('#van') === start.date && await page.inputValue('#tm') === start.date);
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('ArrowDown');
  check('Shift+Tab and ArrowDown choose "alleen op werkdagen"',
    await page.isChecked('input[name="dagen"][value="werkdagen"]') && await active(page, 'input[name="dagen"]'));
  // Back into "tot en met", on its first part: past the whole field, then one step forward.
  await tabTo(page, '#tm', true);
  while (await active(page, '#tm')) await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  const last = addDays(start.date, 13);
  await typeDate(page, last);
  check('the last night is typed into "tot en met"', await page.inputValue('#tm') === last, await page.inputValue('#tm'));
  check('Tab goes on to the beds', await tabTo(page, '#bedden'));
  await replaceText(page, '1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#opgeslagen', { timeout: 15000 });
  const nights = (await apiAs('GET', `/v1/pools/${POOL}/capacity?from=${start.date}&to=${addDays(last, 1)}`)).json.nights;
  check('Enter saves: 1 bed on the weekdays of the range, the weekend nights left at 3',
    nights.length === 14 && nights.every((n) => n.capacity === ([0, 6].includes(weekday(n.date)) ? 3 : 1)),
    JSON.stringify(nights.map((n) => n.capacity)));
  await expectNoAxeViolations(check, page, 'board after a keyboard range edit');

  // ---- settings: a pool's rules, keyboard only ----
  await page.keyboard.press('Shift+Tab');
  check('Shift+Tab reaches the menu item Instellingen',
    await tabTo(page, 'header a[href="/aanbieder/instellingen.html"]', true, 200));
  await Promise.all([page.waitForURL(/instellingen\.html$/), page.keyboard.press('Enter')]);
  await page.waitForSelector('body[data-instellingen="klaar"]', { timeout: 15000 });
  check('Tab reaches the choice of pool', await tabTo(page, '#groep'));
  check('the arrow keys choose the test pool', await arrowTo(page, POOL));
  await page.waitForFunction((id) => document.body.dataset.groep === id, POOL);
  check('Tab reaches the smallest number of nights', await tabTo(page, '#min_nights'));
  await replaceText(page, '0');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#min_nights-error');
  check('Enter sends; the refusal is said in Dutch at the field and the summary has the focus',
    /kleinste aantal nachten/.test(await page.textContent('#min_nights-error')) && await active(page, '#regels .error-summary'),
    await page.textContent('#min_nights-error'));
  await expectNoAxeViolations(check, page, 'settings with a refused value (keyboard)');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  check('the summary\'s link, with Enter, puts the cursor in the field', await active(page, '#min_nights'));
  await replaceText(page, '2');
  check('Tab reaches the largest number of nights', await tabTo(page, '#max_nights'));
  await replaceText(page, '14');
  check('Tab reaches the funding checkbox for private payment', await tabTo(page, '#funding-private'));
  const hadPrivate = await page.isChecked('#funding-private');
  await page.keyboard.press('Space');
  check('Tab reaches "Regels bewaren"', await tabTo(page, '#bewaren'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /bewaard/.test(document.getElementById('melding').textContent));
  let pool = (await apiAs('GET', `/v1/pools/${POOL}`)).json;
  check('the rules are written: 2 to 14 nights, funding private toggled by Space',
    pool.min_nights === 2 && pool.max_nights === 14 && pool.funding.includes('private') === !hadPrivate, JSON.stringify(pool));
  await expectNoAxeViolations(check, page, 'settings after a keyboard save');

  // ---- settings: a location's facilities and exclusions, keyboard only ----
  check('Tab reaches the choice of location', await tabTo(page, '#locatie'));
  check('the arrow keys choose the test location', await arrowTo(page, LOCATION));
  await page.waitForFunction((id) => document.body.dataset.locatie === id, LOCATION);
  check('Tab reaches the facility "Tuin"', await tabTo(page, '#facilities-garden'));
  await page.keyboard.press('Space');
  check('Space ticks it', await page.isChecked('#facilities-garden'));
  check('Tab reaches "Iets anders dat de locatie biedt"', await tabTo(page, '#facilities_other'));
  await page.keyboard.type('Muziek!, eigen badkamer');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#facilities_other-error');
  const refused = await page.textContent('#facilities_other-error');
  check('a word the API cannot take is refused in Dutch at its field, naming it',
    /zonder leestekens/.test(refused) && refused.includes('"Muziek!"') && await active(page, '#locatie-form .error-summary'), refused);
  let loc = (await apiAs('GET', `/v1/locations/${LOCATION}`)).json;
  check('and nothing was written', !loc.facilities.includes('garden'), JSON.stringify(loc.facilities));
  await expectNoAxeViolations(check, page, 'location with a refused word (keyboard)');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  check('the summary\'s link takes the cursor to the field', await active(page, '#facilities_other'));
  await replaceText(page, 'muziektherapie, eigen badkamer');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /is bewaard/.test(document.getElementById('locatie-melding').textContent));
  loc = (await apiAs('GET', `/v1/locations/${LOCATION}`)).json;
  check('the facilities are written: garden ticked, the typed words as tokens',
    ['garden', 'muziektherapie', 'eigen_badkamer'].every((t) => loc.facilities.includes(t)), JSON.stringify(loc.facilities));
  check('the typed words come back as boxes of their own, ticked',
    await page.isChecked('#facilities-muziektherapie') && await page.inputValue('#facilities_other') === '');
  await expectNoAxeViolations(check, page, 'location saved (keyboard)');

  // A colleague changes the location meanwhile: animals added, the garden gone.
  const fresh = await apiAs('GET', `/v1/locations/${LOCATION}`);
  const meanwhile = await apiAs('PATCH', `/v1/locations/${LOCATION}`,
    { facilities: [...fresh.json.facilities.filter((t) => t !== 'garden'), 'animals'] }, { 'If-Match': fresh.etag });
  check('(a colleague adds animals and removes the garden meanwhile)', meanwhile.status === 200, JSON.stringify(meanwhile.json));
  check('Tab reaches the exclusion "agressief"', await tabTo(page, '#exclusions-aggression'));
  await page.keyboard.press('Space');
  check('Tab reaches "Locatie bewaren"', await tabTo(page, '#locatie-bewaren'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /In de tussentijd/.test((document.querySelector('#locatie-form .error-summary') || {}).textContent || ''));
  const told = await page.textContent('#locatie-form .error-summary');
  check('the colleague\'s change is reported in words, naming what they changed',
    /In de tussentijd heeft iemand anders deze locatie veranderd/.test(told) && /nu ook: dieren/.test(told) &&
    /niet meer: tuin/.test(told) && /niet bewaard/.test(told), told);
  loc = (await apiAs('GET', `/v1/locations/${LOCATION}`)).json;
  check('nothing was overwritten: the colleague\'s facilities stand, the exclusion was not added',
    loc.facilities.includes('animals') && !loc.facilities.includes('garden') && !loc.exclusions.includes('aggression'),
    JSON.stringify(loc));
  check('the form now shows the colleague\'s version', await page.isChecked('#facilities-animals') &&
    !(await page.isChecked('#facilities-garden')) && !(await page.isChecked('#exclusions-aggression')));
  await expectNoAxeViolations(check, page, 'location after a colleague\'s change (keyboard)');
  check('Tab reaches the exclusion again', await tabTo(page, '#exclusions-aggression', true));
  await page.keyboard.press('Space');
  check('and "Locatie bewaren"', await tabTo(page, '#locatie-bewaren'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /is bewaard/.test(document.getElementById('locatie-melding').textContent));
  loc = (await apiAs('GET', `/v1/locations/${LOCATION}`)).json;
  check('saving again after reading the message writes it, keeping the colleague\'s facilities',
    loc.exclusions.includes('aggression') && loc.facilities.includes('animals'), JSON.stringify(loc));

  check('no script errors or CSP violations on any page', problems.length === 0, problems.join(' | '));
});
