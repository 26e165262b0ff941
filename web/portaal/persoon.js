// portaal/persoon.js: enter or change the person cared for, stored as the caregiver's
// registered guest (POST or PATCH /v1/guests). Minimal on purpose: it is health data. Once
// the person is saved, toekenning.js shows and takes their allowances below.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, returnPath } from '/common/layout.js';
import { addFieldTexts } from '/common/problems.js';
import { careProfileText, fundingText } from '/common/status.js';
import { NEEDS, el, fillSelect, loadMunicipalities, loadPerson } from './plek.js';
import { showAllowances } from './toekenning.js';

addFieldTexts({
  alias: { required: 'Vul een roepnaam of initialen in.', invalid: 'Vul een roepnaam of initialen in van hoogstens 60 tekens.' },
  birth_year: { required: 'Vul het geboortejaar in.', invalid: 'Vul een geboortejaar in van vier cijfers, bijvoorbeeld 1942.' },
  care_profile: { required: 'Kies welke zorg er nodig is.' },
  needs: { invalid: 'Kies uit de lijst.' },
  funding: { invalid: 'Kies een betaling uit de lijst.' }
});

const CARE_PROFILES = ['dementia', 'somatic', 'disability', 'psychiatric', 'youth'];
const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];

const form = document.getElementById('persoon');
await initPage({ requireLogin: true });
const [person, municipalities] = await Promise.all([loadPerson(), loadMunicipalities()]);

const profiles = document.getElementById('care_profiles');
for (const p of CARE_PROFILES) {
  const id = 'care_profile-' + p;
  profiles.append(el('div', { class: 'radio' },
    el('input', { type: 'radio', id, name: 'care_profile', value: p, required: true,
      'data-required': 'Kies welke zorg er nodig is.', checked: person && person.care_profile === p }),
    el('label', { for: id }, careProfileText(p)[0].toUpperCase() + careProfileText(p).slice(1))));
}
const needs = document.getElementById('needs');
for (const n of NEEDS) {
  const id = 'need-' + n.token;
  needs.append(el('div', { class: 'checkbox' },
    el('input', { type: 'checkbox', id, name: 'needs', value: n.token,
      checked: Boolean(person && person.needs.includes(n.token)) }),
    el('label', { for: id }, n.text)));
}
fillSelect(document.getElementById('municipality'), municipalities.map((m) => [m.code, m.name]),
  person ? person.municipality : null);
fillSelect(document.getElementById('funding'), FUNDINGS.map((f) => [f, fundingText(f)]),
  person ? person.funding : null);
if (person) {
  form.alias.value = person.alias || '';
  form.birth_year.value = person.birth_year || '';
}
if (person) await showAllowances(person, municipalities);
const back = returnPath('');
if (back) document.getElementById('verder').href = back;

let key = newIdempotencyKey();
let current = person;
form.addEventListener('input', () => { document.getElementById('opgeslagen').hidden = true; });

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  const v = formValues(form);
  if (v.birth_year && !/^\d{4}$/.test(v.birth_year) && !missing.birth_year)
    missing.birth_year = 'Vul een geboortejaar in van vier cijfers, bijvoorbeeld 1942.';
  if (Object.keys(missing).length) {
    showErrors(form, { fields: missing });
    return;
  }
  const body = {
    alias: v.alias,
    birth_year: Number(v.birth_year),
    care_profile: v.care_profile,
    needs: [...form.querySelectorAll('input[name="needs"]:checked')].map((i) => i.value),
    municipality: v.municipality || null,
    funding: v.funding || null
  };
  try {
    current = await whileBusy(form, () => current
      ? api('PATCH', `/v1/guests/${current.id}`, body)
      : api('POST', '/v1/guests', body, { idempotencyKey: key }));
    key = newIdempotencyKey();
    await showAllowances(current, municipalities);
    const done = document.getElementById('opgeslagen');
    done.hidden = false;
    done.tabIndex = -1;
    done.focus();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    showErrors(form, e, 'Het opslaan is niet gelukt');
  }
});
