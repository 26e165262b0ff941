// portaal/berichten.js: "Berichten per e-mail" on Mijn gegevens: the kinds of email the
// caregiver gets (GET /v1/me/notifications, with the API's Dutch description), essential ones
// shown as always on with the reason in words, the rest switchable and saved with
// PUT /v1/me/notifications. Owns only that section of the page.
import { api, ApiError } from '/common/api.js';
import { clearErrors, showErrors, whileBusy } from '/common/form.js';
import { fieldMessage, addFieldTexts } from '/common/problems.js';
import { el } from '/common/dom.js';

addFieldTexts({
  preferences: {
    'this message is essential': 'Dit bericht is nodig en blijft altijd aan.',
    invalid: 'Deze keuze kon niet worden bewaard. Laad de pagina opnieuw en probeer het nog eens.'
  }
});

// Why an essential email cannot be switched off, per kind; the last line for any other.
const WHY_ALWAYS = {
  request_approved: 'Een besluit over uw aanvraag mag u niet missen.',
  request_declined: 'Een besluit over uw aanvraag mag u niet missen.',
  waitlist_offer: 'Een vrije plek houden wij maar kort voor u vast. Dan moet u het snel weten.',
  stay_cancelled: 'U moet weten dat uw logeerplek niet doorgaat.'
};
const WHY_DEFAULT = 'Dit bericht is nodig voor uw logeerplek.';

const form = document.getElementById('berichten');
const list = document.getElementById('berichten-lijst');
const saved = document.getElementById('berichten-klaar');
let switchable = []; // the kinds the caregiver may switch, in the order they are sent

// One line per kind. A switchable box is named after its place in the PUT's list
// ("preferences[0]"), so a refusal from the API lands at that box.
function row(p) {
  const id = 'bericht-' + p.kind;
  if (p.essential) {
    return el('div', { class: 'checkbox' },
      el('input', { type: 'checkbox', id, checked: true, disabled: true, 'aria-describedby': id + '-waarom' }),
      el('label', { for: id }, p.description,
        el('span', { class: 'field__hint', id: id + '-waarom' },
          'Staat altijd aan. ' + (WHY_ALWAYS[p.kind] || WHY_DEFAULT))));
  }
  const name = `preferences[${switchable.length}]`;
  switchable.push(p.kind);
  return el('div', { class: 'checkbox' },
    el('input', { type: 'checkbox', id, name, 'data-kind': p.kind, checked: p.enabled }),
    el('label', { for: id }, p.description));
}

function show(prefs) {
  switchable = [];
  list.replaceChildren(...prefs.map(row));
  form.querySelector('button[type="submit"]').hidden = switchable.length === 0;
}

// The API's field errors ("preferences[1]") in Dutch, at their box.
function refusal(e) {
  const fields = {};
  for (const x of (e.problem && Array.isArray(e.problem.errors)) ? e.problem.errors : []) {
    if (x && typeof x.field === 'string' && x.field.startsWith('preferences'))
      fields[x.field] = fieldMessage('preferences', x.message);
  }
  return { message: e.message, status: e.status, fields };
}

export async function initNotifications() {
  let prefs;
  try {
    prefs = (await api('GET', '/v1/me/notifications')).preferences || [];
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return; // the rest of the page still works; this section stays hidden
  }
  if (!prefs.length) return;
  show(prefs);
  document.getElementById('berichten-deel').hidden = false;
  form.addEventListener('change', () => { saved.hidden = true; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    saved.hidden = true;
    const body = { preferences: switchable.map((kind) => ({
      kind, enabled: form.querySelector(`[data-kind="${kind}"]`).checked })) };
    let after;
    try {
      after = await whileBusy(form, () => api('PUT', '/v1/me/notifications', body));
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return showErrors(form, refusal(e), 'Uw keuzes zijn niet bewaard');
    }
    show(after.preferences || []);
    const off = (after.preferences || []).filter((p) => !p.enabled).length;
    saved.textContent = 'Uw keuzes zijn bewaard. ' + (off
      ? `U krijgt ${off === 1 ? 'één soort e-mail' : off + ' soorten e-mail'} niet meer.`
      : 'U krijgt alle e-mails.');
    saved.hidden = false;
    saved.focus();
  });
}
