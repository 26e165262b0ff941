// portaal/link.js: what the pages behind an emailed link share: reading the token from the
// fragment (#token=..., never sent to the server by the browser) and saying in plain Dutch why
// a link no longer works, with the way out.
import { el } from '/common/dom.js';

// The token from location.hash, or '' when the link is incomplete.
export function tokenFromHash() {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  return m ? m[1] : '';
}

// The fragment is cleared once read: the token should not stay in the address bar or in the
// browser's history after it was used.
export function forgetToken() {
  history.replaceState(null, '', location.pathname + location.search);
}

const WHY = {
  used: 'Deze link is al gebruikt. Een link werkt maar één keer.',
  expired: 'Deze link is verlopen. Een link werkt 30 minuten.',
  unknown: 'Deze link werkt niet. Misschien is hij niet helemaal overgenomen, of is er al een nieuwere link gestuurd.'
};

// Fills box with why the link cannot be used and what to do (again: the link to again).
export function showLinkProblem(box, state, again) {
  box.replaceChildren(
    el('p', {}, WHY[state] || WHY.unknown),
    el('p', {}, el('a', { href: again.href }, again.text)));
  box.hidden = false;
  box.focus();
}

// token_state from a 422 problem about the token, or '' for any other error.
export function tokenState(e) {
  const p = e && e.problem;
  if (!p || e.status !== 422 || !Array.isArray(p.errors)) return '';
  if (!p.errors.some((x) => x && x.field === 'token')) return '';
  return typeof p.token_state === 'string' ? p.token_state : 'unknown';
}
