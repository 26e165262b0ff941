// common/agenda.js: "Agenda koppelen", one part that the caregiver portal (Mijn gegevens,
// the family's own stays) and the bed board (a location's guests) share. It shows whether a
// secret calendar link is live, makes or renews one (POST; the link is shown once, here, and
// can be copied), and stops it (DELETE). The link itself is never stored by the page.
//
// initCalendarLink(box, path, words): box is an element to fill, path the API resource
// (/v1/me/calendar-feed or /v1/locations/{id}/calendar-feed), words what the link shows
// ('uw logeerplekken' or 'de logeergasten van deze locatie'). Sets box.dataset.agenda to
// 'uit', 'aan' or 'nieuw' when it is done drawing, for tests.
import { api, ApiError } from './api.js';
import { el } from './dom.js';
import { formatDateTime } from './status.js';

function say(box, text, ok = true) {
  const note = el('p', { class: ok ? 'alert alert--ok' : 'alert alert--error', role: ok ? 'status' : 'alert', tabindex: '-1' }, text);
  box.querySelector('.agenda__melding').replaceChildren(note);
  note.focus();
}

function button(text, secondary, onClick) {
  const b = el('button', { type: 'button', class: secondary ? 'button--secondary' : null }, text);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try { await onClick(); } finally { b.disabled = false; }
  });
  return b;
}

// The link just made: in a read-only field to select, with a copy button.
function showNewLink(box, made) {
  const url = new URL(made.path, location.origin).href;
  const field = el('input', { class: 'textbox', id: box.id + '-url', type: 'text', readonly: true, value: url, 'aria-describedby': box.id + '-url-hint' });
  const copy = button('Kopieer de link', true, async () => {
    try {
      await navigator.clipboard.writeText(url);
      say(box, 'De link staat klaar om te plakken in uw agenda-app.');
    } catch (e) {
      field.focus();
      field.select();
      say(box, 'Kopiëren lukte niet. De link is nu geselecteerd: kopieer hem zelf met Ctrl+C (of Cmd+C op een Mac).', false);
    }
  });
  return el('div', { class: 'agenda__nieuw' },
    el('label', { class: 'field__label', for: field.id }, 'Uw agenda-link'),
    el('span', { class: 'field__hint', id: box.id + '-url-hint' },
      'U ziet deze link maar één keer. Plak hem in uw agenda-app bij "Agenda toevoegen via URL" of "Abonneren". ' +
      'Iedereen die de link heeft, kan de agenda zien. Deel hem dus niet.'),
    field, el('div', { class: 'button-group' }, copy));
}

export async function initCalendarLink(box, path, words) {
  async function make() {
    try {
      const made = await api('POST', path);
      await draw(made);
      say(box, made.replaced ? 'U heeft een nieuwe link. De oude link werkt niet meer.' : 'Uw agenda-link is klaar.');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      say(box, e.message, false);
    }
  }
  async function stop() {
    try {
      await api('DELETE', path);
      await draw(null);
      say(box, 'De link werkt niet meer. Uw agenda-app krijgt geen nieuwe gegevens meer.');
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      say(box, e.message, false);
    }
  }
  async function draw(made) {
    const state = made ? { active: true, created_at: made.created_at } : await api('GET', path);
    const parts = [];
    if (!state.active) {
      parts.push(el('p', {}, `Met een agenda-link ziet u ${words} in uw eigen agenda, zoals Outlook, Google Agenda of de agenda op uw telefoon. ` +
        'Verandert er iets, dan past uw agenda zich vanzelf aan. Er staat niets in over de gezondheid van uw naaste.'),
      el('div', { class: 'button-group' }, button('Maak een agenda-link', false, make)));
    } else {
      if (made) parts.push(showNewLink(box, made));
      parts.push(el('p', {}, 'Er is een agenda-link gemaakt op ' + formatDateTime(state.created_at) + '. ' +
        (state.last_used_at ? 'Een agenda-app heeft hem het laatst gebruikt op ' + formatDateTime(state.last_used_at) + '.'
          : 'Nog geen agenda-app heeft hem gebruikt.')));
      parts.push(el('p', { class: 'muted' }, 'Kwijt, of heeft iemand anders de link? Maak een nieuwe. De oude werkt dan niet meer.'),
        el('div', { class: 'button-group' },
          button('Maak een nieuwe link', true, make),
          button('Stop de link', true, stop)));
    }
    box.querySelector('.agenda__inhoud').replaceChildren(...parts);
    box.dataset.agenda = made ? 'nieuw' : state.active ? 'aan' : 'uit';
  }
  box.replaceChildren(el('div', { class: 'agenda__melding' }), el('div', { class: 'agenda__inhoud' }));
  try {
    await draw(null);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    say(box, e.message, false);
    box.dataset.agenda = 'fout';
  }
}
