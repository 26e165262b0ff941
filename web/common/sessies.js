// common/sessies.js: "Mijn sessies" for every audience: where the person is signed in
// (GET /v1/me/sessions: the device in words, the network, first and last use), with a button
// to sign out one device and one to sign out everywhere else (DELETE /v1/me/sessions[/{id}]).
// A page calls showSessions(section) with an element that holds a list #sessies-lijst (a
// list, not a table: it reflows on a phone), a status line #sessies-melding and a button
// #overal-uitloggen.
import { api, ApiError } from './api.js';
import { el } from './dom.js';
import { formatDateTime } from './status.js';

function say(box, text, ok = true) {
  box.className = ok ? 'alert alert--ok' : 'alert alert--error';
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

function deviceText(s) {
  return s.device || 'Onbekend apparaat';
}

function networkText(s) {
  return s.address ? 'netwerk ' + s.address : 'onbekend';
}

// One item: the device, where from, when; the button signs out exactly that session.
function item(s, onEnd) {
  const name = deviceText(s) + (s.current ? ' (dit apparaat)' : '');
  const button = el('button', { type: 'button', class: 'button--secondary button--small' },
    s.current ? 'Uitloggen op dit apparaat' : 'Uitloggen op ' + deviceText(s));
  button.addEventListener('click', () => onEnd(s, button));
  return el('li', { class: 'sessies__item', 'data-sessie': s.id },
    el('h3', { class: 'sessies__naam' }, name),
    el('dl', { class: 'sessies__gegevens' },
      el('dt', {}, 'Waar vandaan'), el('dd', {}, networkText(s)),
      el('dt', {}, 'Ingelogd op'), el('dd', {}, formatDateTime(s.created_at)),
      el('dt', {}, 'Laatst gebruikt'), el('dd', {}, formatDateTime(s.last_seen_at))),
    button);
}

export async function showSessions(section, { loginPage = '/inloggen.html' } = {}) {
  const body = section.querySelector('#sessies-lijst');
  const box = section.querySelector('#sessies-melding');
  const others = section.querySelector('#overal-uitloggen');

  async function load() {
    const list = (await api('GET', '/v1/me/sessions')).sessions || [];
    body.replaceChildren(...list.map((s) => item(s, end)));
    others.hidden = !list.some((s) => !s.current);
    return list;
  }

  async function end(s, button) {
    button.disabled = true;
    try {
      await api('DELETE', '/v1/me/sessions/' + encodeURIComponent(s.id));
    } catch (e) {
      button.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      if (e.status !== 404) return say(box, e.message, false);
    }
    if (s.current) return location.assign(loginPage + '?uitgelogd=1');
    await load();
    say(box, 'U bent uitgelogd op ' + deviceText(s) + '.');
  }

  others.addEventListener('click', async () => {
    others.disabled = true;
    try {
      const answer = await api('DELETE', '/v1/me/sessions');
      await load();
      say(box, answer.ended === 1 ? 'U bent op 1 ander apparaat uitgelogd.'
        : 'U bent op ' + answer.ended + ' andere apparaten uitgelogd.');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      say(box, e.message, false);
    } finally {
      others.disabled = false;
    }
  });
  return load();
}
