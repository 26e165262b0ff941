// common/meldingen.js: the "Berichten per e-mail" form every staff page shares: the signed-in
// person's own email choices (GET/PUT /v1/me/notifications). Kinds one may switch off are
// checkboxes; essential kinds are listed as always on, with the reason in words, because a
// disabled checkbox alone does not say why. Never touches another person's choices.
import { api, ApiError } from './api.js';
import { el } from './dom.js';

// Why an essential kind cannot be switched off, in plain Dutch. A kind without a reason here
// still shows as always on, with the general sentence.
const ALWAYS_ON_WHY = {
  request_approved: 'de mantelzorger moet weten dat de logeerplek vaststaat.',
  request_declined: 'de mantelzorger moet weten dat hij of zij verder moet zoeken.',
  waitlist_offer: 'een vrije plek van de wachtlijst vervalt als niemand erop reageert.',
  stay_cancelled: 'de mantelzorger moet weten dat de logeerplek niet doorgaat.',
  request_pending: 'een aanvraag wacht op uw besluit. Zonder dit bericht wacht de mantelzorger te lang.',
  webhook_disabled: 'uw eigen systeem krijgt dan geen berichten meer van ons. U moet weten dat u iets moet doen.'
};
const ALWAYS_ON_GENERAL = 'dit bericht is nodig om uw werk goed te doen.';

function choiceRow(p, prefix) {
  const id = `${prefix}-${p.kind}`;
  return el('div', { class: 'checkbox choice' },
    el('input', { type: 'checkbox', id, name: p.kind, checked: p.enabled }),
    el('label', { for: id }, p.description));
}

function alwaysOnList(items) {
  return el('ul', { class: 'altijd-aan' }, ...items.map((p) => el('li', { 'data-kind': p.kind },
    el('strong', {}, p.description), ': altijd aan, omdat ', ALWAYS_ON_WHY[p.kind] || ALWAYS_ON_GENERAL)));
}

// Draws the form into container from a GET /v1/me/notifications answer.
function draw(container, prefs, prefix, onSave) {
  const optional = prefs.filter((p) => !p.essential);
  const essential = prefs.filter((p) => p.essential);
  const status = el('p', { class: 'done alert alert--ok', id: `${prefix}-klaar`, role: 'status', tabindex: '-1', hidden: true });
  const error = el('p', { class: 'error alert alert--error', id: `${prefix}-fout`, role: 'alert', hidden: true });
  const parts = [status, error];
  if (!prefs.length) {
    parts.push(el('p', {}, 'Voor uw account sturen we geen e-mails over logeerplekken.'));
    container.replaceChildren(...parts);
    return;
  }
  if (optional.length) {
    const form = el('form', { id: `${prefix}-form`, novalidate: true },
      el('fieldset', { class: 'field' },
        el('legend', {}, 'Deze e-mails kunt u zelf aan- of uitzetten'),
        el('p', { class: 'field__hint hint' }, 'Een vinkje betekent: deze e-mail krijgt u.'),
        ...optional.map((p) => choiceRow(p, prefix))),
      el('div', { class: 'button-group' },
        el('button', { type: 'submit', id: `${prefix}-bewaren` }, 'Keuzes bewaren')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      onSave(form, optional.map((p) => ({ kind: p.kind, enabled: form.elements[p.kind].checked })));
    });
    parts.push(form);
  }
  if (essential.length) parts.push(el('h3', {}, 'Deze e-mails staan altijd aan'), alwaysOnList(essential));
  container.replaceChildren(...parts);
}

// Fills container with the caller's choices and keeps it up to date after each save.
// prefix makes the ids unique on the page. Resolves when the first draw is done.
export async function showNotificationPreferences(container, prefix = 'berichten') {
  const save = async (form, preferences) => {
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const after = await api('PUT', '/v1/me/notifications', { preferences });
      draw(container, after.preferences || [], prefix, save);
      const done = container.querySelector(`#${prefix}-klaar`);
      done.textContent = 'Uw keuzes zijn bewaard.';
      done.hidden = false;
      done.focus();
    } catch (e) {
      const fail = container.querySelector(`#${prefix}-fout`);
      fail.textContent = e instanceof ApiError ? e.message : 'Bewaren lukte niet. Probeer het opnieuw.';
      fail.hidden = false;
      button.disabled = false;
      if (!(e instanceof ApiError)) throw e;
    }
  };
  try {
    const got = await api('GET', '/v1/me/notifications');
    draw(container, got.preferences || [], prefix, save);
  } catch (e) {
    container.replaceChildren(el('p', { class: 'error alert alert--error', role: 'alert' },
      e instanceof ApiError ? e.message : 'Uw keuzes konden niet worden geladen.'));
    if (!(e instanceof ApiError)) throw e;
  }
  container.dataset.geladen = 'true';
}
