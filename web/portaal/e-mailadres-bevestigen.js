// portaal/e-mailadres-bevestigen.js: confirms the address with the token from the link as
// soon as the page opens: following the link is the confirmation, one more click would only
// be one more step for a tired reader. Works whether or not the visitor is logged in.
import { api, ApiError } from '/common/api.js';
import { el } from '/common/dom.js';
import { initPage } from '/common/layout.js';
import { forgetToken, showLinkProblem, tokenFromHash, tokenState } from './link.js';

const busy = document.getElementById('bezig');
const problem = document.getElementById('link-fout');
const done = document.getElementById('gelukt');
const AGAIN = { href: '/mijn-gegevens.html', text: 'Stuur een nieuwe link via Mijn gegevens' };

const user = await initPage();
const token = tokenFromHash();
forgetToken();

async function confirm() {
  if (!token) return showLinkProblem(problem, 'unknown', AGAIN);
  let answer;
  try {
    answer = await api('POST', '/v1/email-verifications', { token });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const state = tokenState(e);
    if (state) return showLinkProblem(problem, state, AGAIN);
    problem.replaceChildren(el('p', {}, e.message));
    problem.hidden = false;
    problem.focus();
    return;
  }
  done.replaceChildren(
    el('p', {}, 'Dank u. Uw e-mailadres ' + answer.email + ' is bevestigd.'),
    el('p', {}, user ? el('a', { href: '/' }, 'Naar de startpagina')
      : el('a', { href: '/inloggen.html' }, 'Log in')));
  done.hidden = false;
  done.focus();
}

await confirm();
busy.hidden = true;
