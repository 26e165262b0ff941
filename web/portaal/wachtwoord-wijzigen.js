// portaal/wachtwoord-wijzigen.js: a signed-in person changes their own password with the
// current one (POST /v1/me/password). The server signs out every other device; the page says
// how many. The menu is the person's own audience's (menuFor).
import { api, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, menuFor } from '/common/layout.js';

await initPage({ requireLogin: true, menu: menuFor });
const form = document.getElementById('wijzigen');
const done = document.getElementById('gelukt');

function othersText(n) {
  if (n === 0) return 'U was nergens anders ingelogd.';
  return n === 1 ? 'U bent op 1 ander apparaat uitgelogd.' : `U bent op ${n} andere apparaten uitgelogd.`;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  done.hidden = true;
  const missing = missingFields(form);
  const v = formValues(form);
  if (v.new_password && v.new_password.length < 12 && !missing.new_password)
    missing.new_password = 'Kies een wachtwoord van minstens 12 tekens.';
  if (!missing.new_password && !missing.new_password2 && v.new_password !== v.new_password2)
    missing.new_password2 = 'De twee wachtwoorden zijn niet hetzelfde. Vul ze opnieuw in.';
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  let answer;
  try {
    answer = await whileBusy(form, () => api('POST', '/v1/me/password',
      { current_password: v.current_password, new_password: v.new_password }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return showErrors(form, e, 'Uw wachtwoord is niet gewijzigd');
  }
  form.reset();
  done.textContent = 'Uw nieuwe wachtwoord is opgeslagen. ' + othersText(answer.sessions_ended);
  done.hidden = false;
  done.focus();
});
document.body.dataset.geladen = 'true';
