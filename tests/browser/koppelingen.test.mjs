// koppelingen.test.mjs: the provider's "Koppelingen en berichten" page (/aanbieder/
// koppelingen.html) and the coordinator's email choices on the dashboard, in a real browser
// against the logeerd that test_koppelingen_browser.py started. Proves: a planner switches an
// email off and it stays off after a reload, while essential emails show as always on with
// the reason; an address that is not http(s) is refused in Dutch at the field; a webhook is
// added by keyboard alone and its secret shown once (gone after a reload); a capacity change
// made through the API shows as sent in the delivery log, and "Opnieuw versturen" queues it
// again; an address on this machine is refused at the field by a server that runs as in
// production; a new secret is shown once with the grace period in words; the endpoint is switched
// off and on; a colleague's endpoint that only failed is switched off by the server and the
// page says so in words; deleting asks first; another provider's planner sees none of these
// endpoints; the coordinator switches the weekly digest off. 0 axe violations in every state,
// no sideways scrolling at 320 px, no script errors or CSP violations.
//
// Run by tests/integration/test_koppelingen_browser.py; by hand it needs the KOPPEL_*
// variables that script sets.
import { writeFileSync } from 'node:fs';
import { expectNoAxeViolations } from './lib/axe.mjs';
import { BASE, check, noHorizontalScroll, openContext, openPage, run } from './lib/run.mjs';

const E = process.env;
const PASSWORD = 'logeerzorg-demo';
const PAGE = '/aanbieder/koppelingen.html';
const secrets = {};

async function login(page, email, base = BASE) {
  await page.goto(base + PAGE);
  await page.waitForURL(/inloggen\.html\?terug=/, { timeout: 10000 });
  await page.waitForSelector('body[data-ready="true"]');
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/koppelingen\.html$/), page.click('button[type="submit"]')]);
  await page.waitForSelector('body[data-geladen="true"]', { timeout: 20000 });
}

async function reload(page) {
  await page.reload();
  await page.waitForSelector('body[data-geladen="true"]', { timeout: 20000 });
}

// Presses Tab until the element matching selector has focus (at most max presses).
async function tabTo(page, selector, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement && document.activeElement.matches(sel), selector)) return true;
    await page.keyboard.press('Tab');
  }
  return false;
}

async function capacityChange(beds) {
  const resp = await fetch(`${BASE}/v1/pools/${E.KOPPEL_POOL}/capacity`, {
    method: 'PUT',
    headers: { Authorization: 'Bearer ' + E.KOPPEL_TOKEN, 'Content-Type': 'application/json', 'If-Match': '*' },
    body: JSON.stringify({ ranges: [{ from: E.KOPPEL_DAY, to: E.KOPPEL_DAY_NEXT, beds }] })
  });
  return resp.status;
}

const card = (id) => `#webhook-${id}`;
const cardByUrl = (url) => `article.webhook[data-url="${url}"]`;

// Opens an endpoint's log and presses "Ververs" until a row in state appears (at most ~30 s).
async function waitForDelivery(page, sel, wanted) {
  for (let i = 0; i < 30; i++) {
    if (await page.$(`${sel} tr[data-state="${wanted}"]`)) return true;
    const before = Number(await page.getAttribute(`${sel} .webhook__log`, 'data-geladen') || 0);
    await page.click(`${sel} [data-actie="ververs"]`);
    await page.waitForFunction(([s, n]) => Number(document.querySelector(s + ' .webhook__log').dataset.geladen || 0) > n,
      [sel, before], { timeout: 10000 });
    if (!(await page.$(`${sel} tr[data-state="${wanted}"]`))) await page.waitForTimeout(1000);
  }
  return false;
}

run(async (context) => {
  const problems = [];
  const page = await openPage(context, problems);
  await login(page, 'planner@esdorp.demo.logeer.nl');
  check('the menu links to Koppelingen en berichten, marked as the current page',
    await page.getAttribute('a.nav__link[href="/aanbieder/koppelingen.html"]', 'aria-current') === 'page');
  await expectNoAxeViolations(check, page, 'koppelingen, first view');

  // ---- email choices --------------------------------------------------------------------------
  check('an essential email shows as always on, with the reason in words',
    /altijd aan, omdat .*besluit/.test(await page.textContent('.altijd-aan [data-kind="request_pending"]') || ''));
  check('an essential email is no checkbox one could switch off', !(await page.$('#berichten-request_pending')));
  check('"Een nieuwe boeking" starts switched on', await page.isChecked('#berichten-new_booking'));
  await page.uncheck('#berichten-new_booking');
  await page.click('#berichten-bewaren');
  await page.waitForSelector('#berichten-klaar:not([hidden])');
  check('saving says so', (await page.textContent('#berichten-klaar')).includes('bewaard'));
  await expectNoAxeViolations(check, page, 'email choices saved');
  await reload(page);
  check('after a reload "Een nieuwe boeking" is still off', !(await page.isChecked('#berichten-new_booking')));

  // ---- refusals at the field ----------------------------------------------------------------
  await page.click('#webhook-toevoegen');
  await page.waitForSelector('#webhook-form .error-summary');
  check('an empty form names the missing address and event type at their fields',
    (await page.textContent('#url-error') || '').includes('internetadres') &&
    (await page.textContent('#webhook-form .field-error[id$="-error"]:not(#url-error)') || '').includes('gebeurtenis'));
  await page.fill('#url', 'ftp://planning.example.org/logeer');
  await page.check('#soort-stay-requested');
  await page.click('#webhook-toevoegen');
  await page.waitForSelector('#url[aria-invalid="true"]');
  await page.waitForFunction(() => (document.getElementById('url-error') || {}).textContent?.includes('https://'));
  check('an address that is not http(s) is refused by the server in Dutch at the field',
    (await page.textContent('#url-error')).includes('moet beginnen met https://'), await page.textContent('#url-error'));
  await expectNoAxeViolations(check, page, 'webhook refused at the field');
  await reload(page);

  // ---- adding by keyboard alone ----------------------------------------------------------------
  await page.focus('#berichten-bewaren');
  check('Tab reaches the address field', await tabTo(page, '#url'));
  await page.keyboard.type(E.KOPPEL_HOOK_URL);
  await page.keyboard.press('Tab');
  await page.keyboard.type('Planning De Es');
  check('Tab reaches "Aantal bedden veranderd"', await tabTo(page, '#soort-capacity-changed'));
  await page.keyboard.press('Space');
  check('Tab reaches the add button', await tabTo(page, '#webhook-toevoegen'));
  await page.keyboard.press('Enter');
  await page.waitForSelector('#geheim:not([hidden])', { timeout: 10000 });
  const first = await page.inputValue('#geheim-waarde');
  secrets.first = first;
  check('the secret is shown once, whsec_ and base64', /^whsec_[A-Za-z0-9+/]+=*$/.test(first), first);
  check('focus moves to the secret', await page.evaluate(() => document.activeElement.id === 'geheim'));
  check('the page warns it will not be shown again',
    (await page.textContent('#geheim')).includes('maar één keer'));
  const mine = await page.getAttribute(cardByUrl(E.KOPPEL_HOOK_URL), 'id');
  check('the new webhook is in the list', Boolean(mine));
  const id = (mine || '').replace('webhook-', '');
  await expectNoAxeViolations(check, page, 'secret shown once');
  await page.setViewportSize({ width: 320, height: 800 });
  check('at 320 px the page with the secret does not scroll sideways', await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click('#geheim-kopieer');
  await page.waitForFunction(() => document.getElementById('geheim-gekopieerd').textContent !== '');
  check('the copy button says what it did', /gekopieerd|Ctrl\+C/.test(await page.textContent('#geheim-gekopieerd')));
  await reload(page);
  check('after a reload the secret is gone from the page',
    await page.isHidden('#geheim') && !(await page.content()).includes(first));

  // ---- an event and the delivery log -----------------------------------------------------------
  check('a capacity change through the API is taken (200)', await capacityChange(3) === 200);
  await page.click(`${card(id)} [data-actie="log"]`);
  await page.waitForSelector(`${card(id)} .webhook__log[data-geladen]`);
  check('the delivery log shows the change as sent', await waitForDelivery(page, card(id), 'sent'));
  check('the row says which event, in words',
    (await page.textContent(`${card(id)} tr[data-state="sent"]`)).includes('Aantal bedden veranderd'));
  await expectNoAxeViolations(check, page, 'delivery log');
  await page.setViewportSize({ width: 320, height: 800 });
  check('at 320 px the page with the log does not scroll sideways', await noHorizontalScroll(page));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.click(`${card(id)} tr[data-state="sent"] [data-actie="opnieuw"]`);
  await page.waitForSelector('#webhook-melding:not([hidden])');
  check('"Opnieuw versturen" says it goes again with the same id',
    (await page.textContent('#webhook-melding')).includes('opnieuw verstuurd'));
  check('... and the log shows it sent again', await waitForDelivery(page, card(id), 'sent'));

  // ---- a new secret ------------------------------------------------------------------------------
  await page.click(`${card(id)} [data-actie="sleutel"]`);
  await page.waitForSelector('#geheim:not([hidden])');
  const second = await page.inputValue('#geheim-waarde');
  secrets.second = second;
  check('a new secret is shown, different from the first', second.startsWith('whsec_') && second !== first);
  check('the grace period is explained in words',
    /twee\s+handtekeningen/.test(await page.textContent('#geheim-rotatie')));
  await expectNoAxeViolations(check, page, 'new secret shown once');
  await page.click('#geheim-klaar');
  check('"Ik heb de sleutel bewaard" hides it', await page.isHidden('#geheim') && await page.inputValue('#geheim-waarde') === '');

  // ---- a colleague's change meanwhile is not overwritten (If-Match) ---------------------------
  const patched = await fetch(`${BASE}/v1/webhook-endpoints/${id}`, {
    method: 'PATCH',
    headers: { Authorization: 'Bearer ' + E.KOPPEL_TOKEN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ description: 'Planning De Es (collega)' })
  });
  check('a colleague renames the webhook through the API (200)', patched.status === 200);
  await page.click(`${card(id)} [data-actie="aan-uit"]`);
  await page.waitForSelector('#fout:not([hidden])');
  check('switching off after the colleague\'s change is refused in words, not done unseen',
    (await page.textContent('#fout')).includes('net veranderd') &&
    (await page.getAttribute(`${card(id)} .webhook__stand`, 'data-enabled')) === 'true');
  check('... and the list shows the colleague\'s change',
    (await page.textContent(`${card(id)} h4`)).includes('collega'));

  // ---- off and on --------------------------------------------------------------------------------
  await page.click(`${card(id)} [data-actie="aan-uit"]`);
  await page.waitForSelector(`${card(id)} .webhook__stand[data-enabled="false"]`);
  check('switched off, the page says so in words',
    (await page.textContent(`${card(id)} .webhook__stand`)).includes('door uw organisatie uitgezet'));
  await expectNoAxeViolations(check, page, 'webhook switched off');
  await page.click(`${card(id)} [data-actie="aan-uit"]`);
  await page.waitForSelector(`${card(id)} .webhook__stand[data-enabled="true"]`);
  check('switched on again', (await page.textContent(`${card(id)} .webhook__stand`)).startsWith('Aan'));

  // ---- a long log: pages and a filter -----------------------------------------------------------
  const arch = card(E.KOPPEL_ARCHIVE_ID);
  const logText = async () => (await page.textContent(`${arch} .webhook__log`)).replace(/\s+/g, ' ');
  const logStep = async (action) => {
    const before = Number(await page.getAttribute(`${arch} .webhook__log`, 'data-geladen') || 0);
    await action();
    await page.waitForFunction(([s, n]) => Number(document.querySelector(s + ' .webhook__log').dataset.geladen || 0) > n,
      [arch, before], { timeout: 10000 });
  };
  await logStep(() => page.click(`${arch} [data-actie="log"]`));
  let logged = await logText();
  check('a log of 45 shows the newest 20, saying which',
    /Berichten 1 tot en met 20 van 45, nieuwste eerst/.test(logged) &&
    await page.locator(`${arch} .bezorg-tabel tbody tr`).count() === 20 &&
    !(await page.$(`${arch} [data-actie="nieuwer"]`)), logged.slice(0, 200));
  await logStep(() => page.click(`${arch} [data-actie="ouder"]`));
  logged = await logText();
  check('"Oudere berichten" shows 21 to 40, keeps the focus there, and offers the way back',
    /Berichten 21 tot en met 40 van 45/.test(logged) && !!(await page.$(`${arch} [data-actie="nieuwer"]`)) &&
    await page.evaluate(() => document.activeElement.dataset.actie) === 'ouder', logged.slice(0, 200));
  await logStep(() => page.click(`${arch} [data-actie="ouder"]`));
  logged = await logText();
  check('the last page: 41 to 45, no older ones, the focus on the filter',
    /Berichten 41 tot en met 45 van 45/.test(logged) && !(await page.$(`${arch} [data-actie="ouder"]`)) &&
    await page.locator(`${arch} .bezorg-tabel tbody tr`).count() === 5 &&
    await page.evaluate(() => document.activeElement.tagName) === 'SELECT', logged.slice(0, 200));
  await expectNoAxeViolations(check, page, 'the last page of a long log');
  await logStep(() => page.selectOption(`${arch} select[data-actie="soort"]`, 'failed'));
  logged = await logText();
  const states = await page.$$eval(`${arch} .bezorg-tabel tbody tr`, (rows) => rows.map((r) => r.dataset.state));
  check('"Alleen mislukte" shows the 15 failed ones from the first',
    /Mislukte berichten 1 tot en met 15 van 15/.test(logged) && states.length === 15 &&
    states.every((st) => st === 'failed'), `${logged.slice(0, 200)} ${states}`);
  await logStep(() => page.selectOption(`${arch} select[data-actie="soort"]`, 'pending'));
  check('a state without messages says so', /Er zijn geen berichten van deze soort/.test(await logText()));
  await expectNoAxeViolations(check, page, 'a filtered log');

  // ---- a colleague's endpoint that only failed ---------------------------------------------------
  const old = card(E.KOPPEL_OLD_ID);
  let failing = false;
  for (let i = 0; i < 40 && !failing; i++) {
    await reload(page);
    failing = (await page.getAttribute(`${old} .webhook__stand`, 'data-enabled')) === 'false';
    if (!failing) await page.waitForTimeout(1000);
  }
  check('the server switched the failing endpoint off', failing);
  check('... and the page says why, in words',
    /steeds mislukte.*geen enkel bericht aan/s.test(await page.textContent(`${old} .webhook__stand`)));
  await page.click(`${old} [data-actie="log"]`);
  await page.waitForSelector(`${old} .webhook__log[data-geladen]`);
  check('its log tells the failure in words (the error code)',
    (await page.textContent(`${old} .webhook__log`)).includes('foutcode 500'));
  await expectNoAxeViolations(check, page, 'endpoint switched off because it failed');

  // ---- deleting asks first ----------------------------------------------------------------------
  await page.click(`${old} [data-actie="verwijderen"]`);
  await page.waitForSelector(`${old} .bevestig`);
  check('deleting asks first, with focus on the question',
    await page.evaluate(() => document.activeElement.classList.contains('bevestig')));
  await expectNoAxeViolations(check, page, 'delete confirmation');
  await page.click(`${old} [data-actie="nee"]`);
  check('"Nee, laten staan" keeps it', Boolean(await page.$(old)) && !(await page.$(`${old} .bevestig`)));
  await page.click(`${old} [data-actie="verwijderen"]`);
  await page.click(`${old} [data-actie="ja-verwijderen"]`);
  await page.waitForSelector(old, { state: 'detached' });
  check('"Ja, verwijderen" removes it and says so',
    (await page.textContent('#webhook-melding')).includes('verwijderd') && Boolean(await page.$(card(id))));
  writeFileSync(E.KOPPEL_SECRETS, JSON.stringify(secrets));

  // ---- another provider ------------------------------------------------------------------------
  const other = await openContext();
  const otherPage = await openPage(other, problems);
  await login(otherPage, 'planner@hunzehof.demo.logeer.nl');
  check('another provider\'s planner sees none of these webhooks',
    await otherPage.isVisible('#geen-webhooks') && !(await otherPage.$('article.webhook')) &&
    !(await otherPage.content()).includes(E.KOPPEL_HOOK_URL));

  // ---- a server that refuses private addresses (as in production) ----------------------------
  const strict = await openContext();
  const strictPage = await openPage(strict, problems);
  await login(strictPage, 'planner@esdorp.demo.logeer.nl', E.KOPPEL_STRICT_URL);
  await strictPage.fill('#url', 'http://127.0.0.1:8080/hooks');
  await strictPage.check('#soort-stay-requested');
  await strictPage.click('#webhook-toevoegen');
  await strictPage.waitForSelector('#url[aria-invalid="true"]');
  check('an address on this machine is refused in Dutch at the field',
    (await strictPage.textContent('#url-error')).includes('intern netwerk of van deze computer'),
    await strictPage.textContent('#url-error'));
  check('... and no webhook was added', !(await strictPage.$('article.webhook')));
  await expectNoAxeViolations(check, strictPage, 'private address refused at the field');

  // ---- the coordinator's weekly digest --------------------------------------------------------
  const coord = await openContext();
  const dash = await openPage(coord, problems);
  await dash.goto(BASE + '/dashboard/');
  await dash.waitForSelector('body[data-ready="true"]');
  await dash.fill('#email', 'aanjager@demo.logeer.nl');
  await dash.fill('#password', PASSWORD);
  await dash.click('#login-submit');
  await dash.waitForSelector('#meldingen-keuzes[data-geladen="true"]', { timeout: 20000 });
  await dash.waitForSelector('body[data-loaded="true"]', { timeout: 30000 });
  check('the dashboard shows the weekly digest switched on', await dash.isChecked('#meldingen-weekly_digest'));
  await dash.uncheck('#meldingen-weekly_digest');
  await dash.click('#meldingen-bewaren');
  await dash.waitForSelector('#meldingen-klaar:not([hidden])');
  check('saving says so', (await dash.textContent('#meldingen-klaar')).includes('bewaard'));
  await expectNoAxeViolations(check, dash, 'dashboard with the email choices saved');
  await dash.reload();
  await dash.waitForSelector('#meldingen-keuzes[data-geladen="true"]', { timeout: 20000 });
  check('after a reload the weekly digest is still off', !(await dash.isChecked('#meldingen-weekly_digest')));
  await dash.setViewportSize({ width: 320, height: 800 });
  check('at 320 px the dashboard does not scroll sideways', await noHorizontalScroll(dash));

  check('no script errors or CSP violations', problems.length === 0, problems.join(' | '));
});
