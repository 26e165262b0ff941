// common/form.js: showing form errors the same accessible way on every page: an error summary
// at the top of the form (role=alert, a link to each field, focus moves to it) and a message
// next to each field (aria-describedby, aria-invalid). Pages never build their own.

const SUMMARY_CLASS = 'error-summary';
const FIELD_ERROR_CLASS = 'field-error';

function fieldElement(form, name) {
  return form.querySelector('[name="' + CSS.escape(name) + '"]');
}

// The element that wraps a field's label, message and input (class "field"), if any.
function fieldWrapper(input) {
  return input.closest('.field') || input.parentElement;
}

// Removes every message, the summary and the invalid marks this module added.
export function clearErrors(form) {
  form.querySelectorAll('.' + SUMMARY_CLASS).forEach((n) => n.remove());
  form.querySelectorAll('.' + FIELD_ERROR_CLASS).forEach((n) => n.remove());
  form.querySelectorAll('[aria-invalid]').forEach((input) => {
    input.removeAttribute('aria-invalid');
    const ids = (input.getAttribute('aria-describedby') || '').split(' ')
      .filter((id) => id && !id.endsWith('-error'));
    if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
    const wrap = fieldWrapper(input);
    if (wrap) wrap.classList.remove('field--invalid');
  });
}

// Marks one field and puts its message between its label and the input.
function markField(input, text) {
  if (!input.id) input.id = 'veld-' + input.name.replace(/[^A-Za-z0-9_-]/g, '-');
  const msg = document.createElement('p');
  msg.className = FIELD_ERROR_CLASS;
  msg.id = input.id + '-error';
  const hidden = document.createElement('span');
  hidden.className = 'visually-hidden';
  hidden.textContent = 'Fout: ';
  msg.append(hidden, text);
  input.setAttribute('aria-invalid', 'true');
  const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  ids.push(msg.id);
  input.setAttribute('aria-describedby', ids.join(' '));
  const wrap = fieldWrapper(input);
  wrap.classList.add('field--invalid');
  // Radio groups: the message goes under the legend; single inputs: right above the input.
  const legend = wrap.tagName === 'FIELDSET' ? wrap.querySelector('legend') : null;
  if (legend) legend.after(msg);
  else input.before(msg);
}

// Shows an error: error is an ApiError (or any { message, fields }). fields maps a field name
// (the input's name attribute, e.g. "guest.birth_year") to a Dutch sentence. Fields without
// an input on this form are listed in the summary without a link. Focus goes to the summary.
export function showErrors(form, error, title = 'Er is iets niet goed gegaan') {
  clearErrors(form);
  const fields = (error && error.fields) || {};
  const summary = document.createElement('div');
  summary.className = SUMMARY_CLASS;
  summary.setAttribute('role', 'alert');
  summary.tabIndex = -1;
  const h = document.createElement('h2');
  h.className = 'error-summary__title';
  h.textContent = title;
  summary.append(h);
  const names = Object.keys(fields);
  if (error && error.message && (!names.length || error.status !== 422)) {
    const p = document.createElement('p');
    p.textContent = error.message;
    summary.append(p);
  }
  if (names.length) {
    const ul = document.createElement('ul');
    for (const name of names) {
      const li = document.createElement('li');
      const input = fieldElement(form, name);
      if (input) {
        markField(input, fields[name]);
        const a = document.createElement('a');
        a.href = '#' + input.id;
        a.textContent = fields[name];
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          input.focus();
        });
        li.append(a);
      } else {
        li.textContent = fields[name];
      }
      ul.append(li);
    }
    summary.append(ul);
  }
  form.prepend(summary);
  summary.focus();
  return summary;
}

// Checks required fields before anything is sent: { name: message } for the empty ones,
// using each input's data-required text (or a general one). Empty object when all is filled.
export function missingFields(form) {
  const out = {};
  for (const input of form.querySelectorAll('[required]')) {
    if (!input.name || out[input.name]) continue;
    const empty = input.type === 'radio' || input.type === 'checkbox'
      ? !form.querySelector('[name="' + CSS.escape(input.name) + '"]:checked')
      : !String(input.value).trim();
    if (empty) out[input.name] = input.dataset.required || 'Vul dit veld in.';
  }
  return out;
}

// The form's values as an object: trimmed strings, except passwords which stay as typed.
export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    const input = fieldElement(form, k);
    out[k] = input && input.type === 'password' ? v : String(v).trim();
  }
  return out;
}

// Disables the submit button while work runs, so a double click does not send twice.
export async function whileBusy(form, work) {
  const buttons = form.querySelectorAll('button[type="submit"], button:not([type])');
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute('aria-busy');
  }
}

// Copies a read-only field that shows a secret once (a webhook's signing key, an API key) and
// says in status whether it worked. Without clipboard rights the text stays selected, so the
// person copies it with Ctrl+C.
export async function copyField(input, status) {
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'De sleutel is gekopieerd.';
  } catch (e) {
    status.textContent = 'Kopiëren lukte niet vanzelf. De sleutel is geselecteerd: kopieer hem met Ctrl+C.';
  }
}
