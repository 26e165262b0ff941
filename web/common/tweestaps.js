// common/tweestaps.js: two-step sign-in (tweestapsverificatie) for every audience. It owns the
// list of ways to prove the second step, the step-up dialog that api.js opens when a sensitive
// action asks for a recent code, where a person goes after the password step, the set-up
// flow (QR code, key as text, first code, recovery codes shown once) and the list of factors
// with remove. Pages only place the sections; this file never decides who must use it (the
// server does, and answers 403 second-factor-required).
import { api, ApiError } from './api.js';
import { el } from './dom.js';
import { clearErrors, showErrors, whileBusy } from './form.js';
import { formatDateTime } from './status.js';
import { passkeysSupported, provePasskey } from './toegangssleutels.js';

export const SECOND_STEP_PAGE = '/tweede-stap.html';
export const SETUP_PAGE = '/tweestaps.html';

// The ways to prove the second step, in the order offered. A new way (a passkey) is one more
// entry: its id, the choice's text, and either a code field (label, hint, input attributes,
// path) or its own prove() that resolves when the server accepted it.
export const METHODS = [
  {
    id: 'totp',
    choice: 'Code uit de app op uw telefoon',
    label: 'Code uit de app',
    hint: 'Open de app (bijvoorbeeld Google Authenticator of Microsoft Authenticator) en vul de 6 cijfers in die u nu ziet.',
    input: { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '7', class: 'textbox textbox--short' },
    path: '/v1/sessions/current/totp'
  },
  {
    id: 'herstelcode',
    choice: 'Een herstelcode',
    label: 'Herstelcode',
    hint: 'Een van de 10 herstelcodes die u heeft bewaard, bijvoorbeeld abcd-efgh-jkmn. Elke code werkt maar één keer.',
    input: { autocomplete: 'off', spellcheck: 'false', maxlength: '20', class: 'textbox' },
    path: '/v1/sessions/current/recovery-code'
  },
  // A passkey needs no field: the browser asks for the fingerprint, face or pin itself.
  ...(passkeysSupported() ? [{
    id: 'toegangssleutel',
    choice: 'Uw toegangssleutel (vingerafdruk, gezicht of pincode)',
    label: '',
    hint: '',
    prove: provePasskey
  }] : [])
];

// Proves the second step for this session with one method; throws ApiError when refused.
export function proveFactor(method, code) {
  if (method.prove) return method.prove();
  return api('POST', method.path, { code }, { factorHandling: false });
}

// Where the person lands after the password step: the second step, the set-up, or back.
export function afterPassword(answer, back) {
  const step = answer && answer.second_factor;
  if (step === 'verify') return SECOND_STEP_PAGE + '?terug=' + encodeURIComponent(back);
  if (step === 'enrol') return SETUP_PAGE + '?terug=' + encodeURIComponent(back);
  return back;
}

// Where a request refused with second-factor-required sends the person.
export function secondFactorPage(enrolled) {
  const back = location.pathname + location.search + location.hash;
  return (enrolled ? SECOND_STEP_PAGE : SETUP_PAGE) + '?terug=' + encodeURIComponent(back);
}

// The start page of each audience, for a person who arrived without ?terug=.
export function homeFor(user) {
  if (!user) return '/';
  if (user.role === 'provider') return '/aanbieder/';
  if (user.role === 'coordinator' || user.role === 'admin') return '/dashboard/';
  return '/';
}

// ---- the code form, shared by the second-step page and the step-up dialog --------------------

let formCount = 0;

// A form with a choice of method (when there is more than one) and the code field. onProven
// runs after the server accepted; returns the form element.
export function codeForm({ submitText = 'Verder', onProven, cancel = null } = {}) {
  const n = ++formCount;
  const form = el('form', { class: 'tweestaps-form', novalidate: true });
  const choices = el('fieldset', { class: 'field' }, el('legend', {}, 'Hoe wilt u dit laten zien?'));
  const codeId = 'tweestaps-code-' + n;
  const hintId = codeId + '-uitleg';
  const label = el('label', { class: 'field__label', for: codeId });
  const hint = el('p', { class: 'field__hint', id: hintId });
  const input = el('input', { id: codeId, name: 'code', type: 'text', required: true, 'aria-describedby': hintId });
  const field = el('div', { class: 'field' }, label, hint, input);
  let method = METHODS[0];

  function choose(m) {
    method = m;
    label.textContent = m.label;
    hint.textContent = m.hint;
    for (const a of ['inputmode', 'autocomplete', 'maxlength', 'spellcheck', 'class']) input.removeAttribute(a);
    for (const [k, v] of Object.entries(m.input || {})) input.setAttribute(k, v);
    input.value = '';
    field.hidden = Boolean(m.prove);
  }

  METHODS.forEach((m, i) => {
    const id = 'tweestaps-methode-' + n + '-' + m.id;
    const radio = el('input', { type: 'radio', name: 'methode', id, value: m.id, checked: i === 0 });
    radio.addEventListener('change', () => choose(m));
    choices.append(el('div', { class: 'radio' }, radio, el('label', { for: id }, m.choice)));
  });
  const buttons = el('div', { class: 'button-group' }, el('button', { type: 'submit' }, submitText));
  if (cancel) {
    const c = el('button', { type: 'button', class: 'button--secondary' }, 'Annuleren');
    c.addEventListener('click', cancel);
    buttons.append(c);
  }
  form.append(METHODS.length > 1 ? choices : null, field, buttons);
  choose(method);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const code = input.value.trim();
    if (!method.prove && !code) {
      showErrors(form, { fields: { code: method.id === 'totp' ? 'Vul de 6 cijfers uit de app in.' : 'Vul een herstelcode in.' } });
      return;
    }
    try {
      const answer = await whileBusy(form, () => proveFactor(method, code));
      await onProven(answer, method);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      input.value = '';
      showErrors(form, e);
    }
  });
  return form;
}

// ---- step-up: a sensitive action asks for a recent code --------------------------------------

let openDialog = null;

// Opens a modal dialog that asks for a code; resolves true once the server accepted one, false
// when the person cancels. One dialog at a time: a second caller shares the first's answer.
export function askStepUp() {
  if (openDialog) return openDialog;
  openDialog = new Promise((resolve) => {
    const titleId = 'stap-omhoog-titel';
    const dialog = el('dialog', { class: 'dialog', 'aria-labelledby': titleId });
    const done = (ok) => {
      dialog.close();
      dialog.remove();
      openDialog = null;
      resolve(ok);
    };
    const form = codeForm({
      submitText: 'Bevestigen',
      onProven: () => done(true),
      cancel: () => done(false)
    });
    dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); done(false); });
    dialog.append(el('h2', { id: titleId }, 'Bevestig dat u het bent'),
      el('p', {}, 'Dit is een belangrijke handeling. Laat daarom eerst nog een keer zien dat u het bent.'),
      form);
    document.body.append(dialog);
    dialog.showModal();
    form.querySelector('input[name="code"]').focus();
  });
  return openDialog;
}

// ---- set-up ----------------------------------------------------------------------------------

// "ABCDEFGH..." as "ABCD EFGH ...": easier to copy by hand.
export function groupsOfFour(secret) {
  return (secret.match(/.{1,4}/g) || []).join(' ');
}

// The server's QR code (an SVG document it made) as a node of this page: parsed, never
// inserted as HTML.
function qrNode(svgText) {
  const doc = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const svg = document.importNode(doc.documentElement, true);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'QR-code om te scannen met de app');
  svg.setAttribute('class', 'qr');
  return svg;
}

// The ten recovery codes, shown once, with print and copy.
export function recoveryCodes(codes, { headingLevel = 'h2' } = {}) {
  const list = el('ol', { class: 'herstelcodes', id: 'herstelcodes' }, ...codes.map((c) => el('li', {}, el('code', {}, c))));
  const status = el('p', { role: 'status', class: 'muted' });
  const print = el('button', { type: 'button', class: 'button--secondary' }, 'Afdrukken');
  print.addEventListener('click', () => window.print());
  const copy = el('button', { type: 'button', class: 'button--secondary' }, 'Kopiëren');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      status.textContent = 'De codes zijn gekopieerd.';
    } catch (e) {
      status.textContent = 'Kopiëren lukt niet in deze browser. Schrijf de codes over of druk ze af.';
    }
  });
  return el('div', { class: 'herstelcodes-blok' },
    el(headingLevel, { id: 'herstelcodes-titel', tabindex: '-1' }, 'Bewaar uw herstelcodes'),
    el('p', {}, 'Bent u uw telefoon kwijt? Dan kunt u met een van deze codes toch inloggen. Elke code werkt één keer. U ziet de codes nu één keer: druk ze af of schrijf ze op, en bewaar ze op een veilige plek.'),
    list, el('div', { class: 'button-group' }, print, copy), status);
}

// The set-up flow in section: start, scan and confirm, then the recovery codes. onDone runs
// when the person has seen the codes and goes on.
export function showSetup(section, { onDone, doneText = 'Verder' } = {}) {
  const start = el('button', { type: 'button', id: 'instellen-beginnen' }, 'Begin met instellen');
  const box = el('div', { role: 'status', class: 'alert alert--error', hidden: true, tabindex: '-1' });
  section.replaceChildren(
    el('h2', { id: 'instellen-titel', tabindex: '-1' }, 'Stap 1: zet de app op uw telefoon'),
    el('p', {}, 'U heeft een app nodig die codes maakt, zoals Google Authenticator, Microsoft Authenticator of FreeOTP. Installeer die app eerst op uw telefoon.'),
    box, el('div', { class: 'button-group' }, start));
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      const enrolment = await api('POST', '/v1/me/factors/totp', {});
      showScan(section, enrolment, { onDone, doneText });
    } catch (e) {
      start.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      box.textContent = e.message;
      box.hidden = false;
      box.focus();
    }
  });
}

function showScan(section, enrolment, { onDone, doneText }) {
  const form = el('form', { id: 'bevestigen', novalidate: true },
    el('div', { class: 'field' },
      el('label', { class: 'field__label', for: 'eerste-code' }, 'Code uit de app'),
      el('p', { class: 'field__hint', id: 'eerste-code-uitleg' }, 'De 6 cijfers die de app nu laat zien.'),
      el('input', { class: 'textbox textbox--short', id: 'eerste-code', name: 'code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '7', required: true, 'aria-describedby': 'eerste-code-uitleg' })),
    el('div', { class: 'button-group' }, el('button', { type: 'submit' }, 'Bevestigen')));
  const title = el('h2', { id: 'instellen-titel', tabindex: '-1' }, 'Stap 2: scan de QR-code');
  section.replaceChildren(title,
    el('p', {}, 'Open de app, kies "account toevoegen" en scan deze QR-code met de camera van uw telefoon.'),
    el('figure', { class: 'qr-figuur' }, qrNode(enrolment.qr_svg)),
    el('p', {}, 'Lukt scannen niet? Typ dan deze sleutel over in de app:'),
    el('p', {}, el('code', { class: 'sleutel', id: 'sleutel' }, groupsOfFour(enrolment.secret))),
    el('h3', {}, 'Stap 3: vul de code uit de app in'),
    form);
  title.focus();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const code = form.elements.code.value.trim();
    if (!code) {
      showErrors(form, { fields: { code: 'Vul de 6 cijfers uit de app in.' } });
      return;
    }
    try {
      const answer = await whileBusy(form, () => api('POST',
        '/v1/me/factors/totp/' + encodeURIComponent(enrolment.id) + '/confirm', { code }));
      showCodes(section, answer.recovery_codes, { onDone, doneText });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      form.elements.code.value = '';
      showErrors(form, e);
    }
  });
}

function showCodes(section, codes, { onDone, doneText }) {
  const next = el('button', { type: 'button', id: 'verder' }, doneText);
  next.addEventListener('click', () => onDone());
  section.replaceChildren(
    el('div', { class: 'alert alert--ok' }, el('p', {}, 'Gelukt: tweestapsverificatie staat aan.')),
    recoveryCodes(codes), el('div', { class: 'button-group' }, next));
  section.querySelector('#herstelcodes-titel').focus();
}

// ---- the factors a person has ------------------------------------------------------------------

const KIND_TEXT = { totp: 'App met codes', passkey: 'Toegangssleutel' };

// Lists the factors in section (a list #factoren-lijst, a status line #factoren-melding and a
// button #nieuwe-herstelcodes) with a remove button each; resolves to the list.
export async function showFactors(section, { onEmpty } = {}) {
  const list = section.querySelector('#factoren-lijst');
  const box = section.querySelector('#factoren-melding');
  const renew = section.querySelector('#nieuwe-herstelcodes');
  const codesBox = section.querySelector('#nieuwe-codes');

  function say(text, ok = true) {
    box.className = ok ? 'alert alert--ok' : 'alert alert--error';
    box.textContent = text;
    box.hidden = false;
    box.focus();
  }

  async function load() {
    const answer = await api('GET', '/v1/me/factors');
    const factors = answer.factors || [];
    list.replaceChildren(...factors.map((f) => item(f)));
    section.querySelector('#herstelcodes-over').textContent =
      'U heeft nog ' + answer.recovery_codes_left + ' herstelcodes die u kunt gebruiken.';
    if (!factors.length && onEmpty) onEmpty();
    return factors;
  }

  function item(f) {
    const name = (KIND_TEXT[f.kind] || f.kind) + (f.label ? ': ' + f.label : '');
    const button = el('button', { type: 'button', class: 'button--secondary button--small' }, 'Verwijder ' + name);
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api('DELETE', '/v1/me/factors/' + encodeURIComponent(f.id));
      } catch (e) {
        button.disabled = false;
        if (!(e instanceof ApiError)) throw e;
        if (e.status !== 404) return say(e.message, false);
      }
      await load();
      say(name + ' is verwijderd. U bent op uw andere apparaten uitgelogd.');
    });
    return el('li', { class: 'sessies__item', 'data-factor': f.id },
      el('h3', { class: 'sessies__naam' }, name),
      el('dl', { class: 'sessies__gegevens' },
        el('dt', {}, 'Ingesteld op'), el('dd', {}, formatDateTime(f.created_at)),
        el('dt', {}, 'Laatst gebruikt'), el('dd', {}, f.last_used_at ? formatDateTime(f.last_used_at) : 'nog niet')),
      button);
  }

  renew.addEventListener('click', async () => {
    renew.disabled = true;
    try {
      const answer = await api('POST', '/v1/me/recovery-codes');
      codesBox.replaceChildren(recoveryCodes(answer.recovery_codes, { headingLevel: 'h3' }));
      codesBox.hidden = false;
      codesBox.querySelector('#herstelcodes-titel').focus();
      await load();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      say(e.message, false);
    } finally {
      renew.disabled = false;
    }
  });
  return load();
}
