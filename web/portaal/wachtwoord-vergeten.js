// portaal/wachtwoord-vergeten.js: asks for a reset link. The page says the same thing whether
// or not the address has an account, as the API does: nobody learns here who has one.
import { api, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';

const form = document.getElementById('vergeten');
const done = document.getElementById('verstuurd');

await initPage();

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  const v = formValues(form);
  try {
    await whileBusy(form, () => api('POST', '/v1/password-resets', { email: v.email }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return showErrors(form, e, 'Het versturen is niet gelukt');
  }
  done.textContent = 'Als er een account is met ' + v.email + ', krijgt u binnen een paar ' +
    'minuten een e-mail met een link. De link werkt 30 minuten. Ziet u geen e-mail? Kijk dan ' +
    'ook bij ongewenste e-mail (spam).';
  done.hidden = false;
  done.focus();
});
