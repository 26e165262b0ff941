// portaal/aanbod.js: a waiting-list offer, shown prominently wherever the caregiver lands
// (the start page): a held stay that still carries its waitlist window was offered by the
// engine. The answer itself (accept or decline) is given on Mijn logeerplekken.
import { api } from '/common/api.js';
import { formatDateTime } from '/common/status.js';
import { el, rangeText } from './plek.js';

export function isOffer(stay) { return stay.status === 'held' && Boolean(stay.waitlist); }

// Fills box with the open offers and shows it; leaves it hidden when there are none.
export async function showOffers(box) {
  let stays = [];
  try {
    stays = (await api('GET', '/v1/stays?status=held&limit=20')).stays.filter(isOffer);
  } catch (e) {
    return; // the start page works without it
  }
  if (!stays.length) return;
  box.replaceChildren(el('h2', {}, stays.length === 1 ? 'Er is een plek voor u vrij' : 'Er zijn plekken voor u vrij'),
    ...stays.map((s) => el('p', {}, `${s.location ? s.location.name : 'Een logeerplek'}: ${rangeText(s.check_in, s.check_out)}. ` +
      `Dit aanbod geldt tot ${formatDateTime(s.hold_expires_at)}.`)),
    el('p', {}, el('a', { class: 'button', href: '/mijn-logeerplekken.html' }, 'Bekijk en kies')));
  box.hidden = false;
}
