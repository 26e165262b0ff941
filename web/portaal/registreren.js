// portaal/registreren.js: makes a caregiver account and logs in with it straight away, so
// that a tired user does not type the same thing twice.
import { api, login, register, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, returnPath } from '/common/layout.js';

const form = document.getElementById('registreren');
const select = document.getElementById('municipality');

async function loadMunicipalities() {
  try {
    const body = await api('GET', '/v1/municipalities');
    for (const m of body.municipalities) select.append(new Option(m.name, m.code));
  } catch (e) {
    if (e instanceof ApiError) showErrors(form, e, 'De gemeenten konden niet worden geladen');
  }
}

await Promise.all([initPage(), loadMunicipalities()]);

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  const v = formValues(form);
  if (v.password && v.password.length < 12 && !missing.password)
    missing.password = 'Kies een wachtwoord van minstens 12 tekens.';
  if (Object.keys(missing).length) {
    showErrors(form, { fields: missing });
    return;
  }
  const account = { email: v.email, password: v.password, municipality: v.municipality };
  if (v.display_name) account.display_name = v.display_name;
  try {
    await whileBusy(form, async () => {
      await register(account);
      await login(v.email, v.password);
    });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 409) {
      showErrors(form, { status: 422, fields: {
        email: 'Er is al een account met dit e-mailadres. Log in of kies een ander e-mailadres.' } });
    } else {
      showErrors(form, e);
    }
    return;
  }
  const back = returnPath('');
  location.assign(back || '/?welkom=1');
});
