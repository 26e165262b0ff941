// portaal-reeks.test.mjs: recurring stays (logeerreeks) in a real browser against a logeerd
// whose data the Python wrapper made (tests/integration/test_series_browser.py): a logeerhuis
// with an instant pool (LOGEER_POOL, 4 beds, no beds on LOGEER_FULL) and an approval pool with
// another family's series waiting. Proves, with 0 axe violations on every state: the request
// page previews a rhythm's dates with the places free and holds and confirms the series; Mijn
// logeerplekken shows it as one item with its dates and cancels the rest of it by keyboard; an
// all-or-nothing list with a full date is refused in words, naming the date, holding nothing;
// the provider's board shows the waiting series as one item, declines one date and accepts
// the rest at once; the settings page shows the pool's share for series; 320 px reflow.
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const POOL = process.env.LOGEER_POOL;
const ASKED = process.env.LOGEER_ASKED;
const UIT = process.env.LOGEER_UIT;
const FULL = process.env.LOGEER_FULL;
const squash = (t) => (t || '').replace(/\s+/g, ' ');

async function axe(page, label) { await expectNoAxeViolations(check, page, label); }

async function narrow(page, label) {
  await page.setViewportSize({ width: 320, height: 800 });
  check(`320 px: ${label} does not scroll sideways`, await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function tabTo(page, selector) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return true;
  }
  return false;
}

async function login(page, email, landing) {
  await page.goto(BASE + '/inloggen.html');
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', email);
  await page.fill('#password', process.env.LOGEER_PASSWORD);
  await page.click('#inloggen button[type="submit"]');
  await page.waitForURL((u) => !u.pathname.endsWith('inloggen.html'), { timeout: 10000 });
  if (landing) await page.goto(BASE + landing);
}

async function openRequest(page) {
  await page.goto(`${BASE}/reeks.html?pool=${POOL}&in=${ASKED}&uit=${UIT}`);
  await page.waitForSelector('#reeks:not([hidden])');
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);
  await login(page, process.env.LOGEER_EMAIL);

  // ---- a rhythm: preview, send, confirm ----
  await openRequest(page);
  check('the first arrival comes from the chosen dates', await page.inputValue('#first_check_in') === ASKED);
  check('the nights come from the chosen dates', await page.inputValue('#nights') === '2');
  await axe(page, 'reeks: the form');
  await narrow(page, 'reeks form');
  await page.selectOption('#every_weeks', '2');
  await page.fill('#count', '3');
  await page.click('#bekijk');
  await page.waitForSelector('#voorbeeld:not([hidden])');
  const shown = squash(await page.textContent('#voorbeeld-lijst'));
  check('the preview lists three dates with the places free now',
    (await page.locator('#voorbeeld-lijst > li').count()) === 3 && /nu 4 plekken vrij/.test(shown), shown);
  check('focus moves to the preview title', await page.evaluate(() => document.activeElement.id === 'voorbeeld-titel'));
  await axe(page, 'reeks: the preview');
  await page.click('#verstuur');
  await page.waitForSelector('#klaar:not([hidden])');
  const held = squash(await page.textContent('#klaar'));
  check('the answer says the series is asked and held, in words',
    /De reeks is aangevraagd: Elke 2 weken, 3 keer, 2 nachten per keer/.test(held) && /We houden 3 logeerplekken/.test(held), held);
  await axe(page, 'reeks: held');
  await page.click('#bevestig-reeks');
  await page.waitForFunction(() => /De reeks is bevestigd/.test(document.getElementById('klaar').textContent));
  check('confirming the series says so', true);

  // ---- Mijn logeerplekken: one item, cancel the rest by keyboard ----
  await page.goto(BASE + '/mijn-logeerplekken.html');
  await page.waitForSelector('#reeksen:not([hidden])');
  const item = squash(await page.textContent('#reeksen-lijst'));
  check('the series is one item with its three dates, confirmed',
    (await page.locator('#reeksen-lijst > li').count()) === 1 && (item.match(/bevestigd/g) || []).length === 3, item);
  check('its dates are not repeated among the single stays',
    (await page.locator('#lijst > li').count()) === 0);
  await axe(page, 'mijn logeerplekken with a series');
  await narrow(page, 'mijn logeerplekken with a series');
  check('keyboard reaches "Annuleer de rest van de reeks"',
    await tabTo(page, '#reeksen-lijst .annuleren button'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#reeksen-lijst [role="group"]');
  await axe(page, 'mijn logeerplekken: cancel the rest asks first');
  check('keyboard reaches "Ja, annuleer de rest"', await tabTo(page, '#reeksen-lijst [role="group"] button:not(.button--secondary)'));
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /De rest van de reeks is geannuleerd/.test(document.getElementById('melding').textContent));
  const after = squash(await page.textContent('#reeksen-lijst'));
  check('every date of the series is cancelled', (after.match(/geannuleerd/g) || []).length === 3, after);
  await axe(page, 'mijn logeerplekken: series cancelled');

  // ---- all or nothing with a full date: refused in words, nothing held ----
  await openRequest(page);
  await page.check('#manier-lijst');
  await page.fill('#arrival-0', ASKED);
  await page.fill('#arrival-1', FULL);
  await page.click('#bekijk');
  await page.waitForSelector('#voorbeeld:not([hidden])');
  check('the preview says the full date is full now', /nu vol/.test(await page.textContent('#voorbeeld-lijst')));
  await page.click('#verstuur');
  await page.waitForSelector('#mislukt:not([hidden])');
  const refused = squash(await page.textContent('#mislukt'));
  check('the refusal says nothing was held and names the full date',
    /niet alle data kunnen. Er is niets vastgehouden/.test(refused) && /geen plek vrij/.test(refused), refused);
  check('focus moves to the refusal', await page.evaluate(() => document.activeElement.id === 'mislukt'));
  await axe(page, 'reeks: all or nothing refused');
  // A date the pool does not take is refused at its field before anything is sent.
  await page.click('#aanpassen');
  await page.fill('#arrival-1', '2001-01-01');
  await page.click('#bekijk');
  await page.waitForSelector('#arrival-1[aria-invalid="true"]');
  check('a past date is refused at its own field, in Dutch',
    /al voorbij/.test(await page.textContent('#arrival-1-error')), await page.textContent('#arrival-1-error'));
  await axe(page, 'reeks: a date refused at its field');

  // ---- the provider's board: one item, decline one, accept the rest ----
  const staff = await openContext();
  const board = await openPage(staff, problems);
  await login(board, process.env.LOGEER_PROVIDER_EMAIL, '/aanbieder/');
  await board.waitForSelector('body[data-verblijven]', { timeout: 15000 });
  await board.waitForSelector('#aanvragen-lijst section.reeks');
  const block = squash(await board.textContent('#aanvragen-lijst section.reeks'));
  check('the waiting series is one item with its three dates',
    /Logeerreeks voor .*3 data wachten op uw antwoord/.test(block) &&
    (await board.locator('#aanvragen-lijst section.reeks tbody tr').count()) === 3, block);
  await axe(board, 'board with a waiting series');
  let before = await board.getAttribute('body', 'data-verblijven');
  await board.locator('#aanvragen-lijst section.reeks tbody tr').first().locator('button[data-actie="decline"]').click();
  await board.waitForSelector('#bevestig[open]');
  await board.fill('#reden', 'geen personeel die week');
  await board.click('#bevestig-ja');
  await board.waitForFunction((n) => document.body.dataset.verblijven !== n, before);
  check('one date declined: two wait', (await board.locator('#aanvragen-lijst section.reeks tbody tr').count()) === 2);
  await board.click('#aanvragen-lijst section.reeks button[data-reeks][data-actie="accept"]');
  // The board reloads its lists first and then says what happened.
  await board.waitForFunction(() => /Alle wachtende data van de reeks/.test(document.getElementById('melding').textContent));
  const said = squash(await board.textContent('#melding'));
  check('accepting the whole series says so, and nothing waits any more',
    /Alle wachtende data van de reeks/.test(said) &&
    (await board.locator('#aanvragen-lijst section.reeks').count()) === 0, said);
  await axe(board, 'board after accepting the series');

  // ---- settings: the share for series ----
  await board.goto(BASE + '/aanbieder/instellingen.html?groep=' + POOL);
  await board.waitForSelector('body[data-instellingen="klaar"]');
  check('the settings show the share for series (default 50)',
    await board.inputValue('#series_share_max_percent') === '50');
  await axe(board, 'settings with the share for series');

  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
