// aanbieder/koppelingen-texts.js: the Dutch words (B1) of the webhooks page: each event type
// with what it means for a planner, delivery states, an endpoint's state, and a delivery's
// last error told in words instead of the technical message the server stores.

import { el } from '/common/dom.js';

const strong = (text) => el('strong', {}, text);

// In the order the API lists them (docs/openapi.yaml, WebhookEventType).
export const EVENT_TYPES = {
  'stay.requested': { short: 'Nieuwe aanvraag', explain: 'Een mantelzorger vraagt een logeerplek aan die u moet goedkeuren.' },
  'stay.confirmed': { short: 'Boeking vast', explain: 'Een logeerplek is geboekt of door u goedgekeurd.' },
  'stay.declined': { short: 'Aanvraag afgewezen', explain: 'Een aanvraag is afgewezen.' },
  'stay.cancelled': { short: 'Geannuleerd', explain: 'Een logeerplek is geannuleerd, door de mantelzorger of door uw organisatie.' },
  'stay.checked_in': { short: 'Aangekomen', explain: 'Een gast is aangekomen.' },
  'stay.completed': { short: 'Vertrokken', explain: 'Een gast is weer naar huis.' },
  'waitlist.offered': { short: 'Plek van de wachtlijst aangeboden', explain: 'Een vrije plek is aangeboden aan iemand op de wachtlijst.' },
  'capacity.changed': { short: 'Aantal bedden veranderd', explain: 'Het aantal bedden voor een of meer nachten is veranderd.' },
  'capacity.stale': { short: 'Aantal bedden bijna verouderd', explain: 'Het aantal bedden is lang niet bevestigd en moet bijgewerkt worden.' }
};

export const DELIVERY_STATE = {
  pending: 'Wacht op versturen',
  sent: 'Verstuurd',
  failed: 'Mislukt, wij proberen het niet meer'
};

// The parts of the sentence that says whether an endpoint works, and if not, why.
export function endpointStateText(ep, when) {
  if (ep.enabled && ep.failing_since) {
    return [strong('Aan, maar het lukt nu niet: '), 'sinds ' + when(ep.failing_since) +
      ' neemt uw systeem onze berichten niet aan. Wij blijven het proberen. Lukt het dagen niet, ' +
      'dan zetten wij de webhook uit en krijgt u een e-mail.'];
  }
  if (ep.enabled) return [strong('Aan'), ': berichten worden verstuurd.'];
  if (ep.disabled_reason === 'failing') {
    return [strong('Uit, omdat het steeds mislukte'), ': uw systeem nam ' +
      (ep.failing_since ? 'sinds ' + when(ep.failing_since) + ' ' : '') +
      'geen enkel bericht aan. Daarom hebben wij de webhook ' +
      (ep.disabled_at ? 'op ' + when(ep.disabled_at) + ' ' : '') +
      'uitgezet. Nieuwe berichten bewaren wij. Laat uw systeem nakijken en zet de webhook weer aan: ' +
      'dan versturen wij de bewaarde berichten.'];
  }
  return [strong('Uit'), ': door uw organisatie uitgezet. Nieuwe berichten bewaren wij tot u de webhook weer aanzet.'];
}

// A delivery's last problem in words; '–' when there was none.
export function deliveryErrorText(d) {
  const err = (d.last_error || '').toLowerCase();
  if (d.last_status && d.last_status >= 300) {
    return `Uw systeem antwoordde met foutcode ${d.last_status} en nam het bericht niet aan.`;
  }
  if (!err) return '–';
  if (err.includes('private') || err.includes('loopback')) {
    return 'Het adres wijst naar een intern netwerk. Daar sturen wij niets heen.';
  }
  if (err.includes('resolve') || err.includes('no usable address')) {
    return 'Het adres van uw systeem bestaat niet (meer). Kijk het adres na.';
  }
  if (err.includes('timed out') || err.includes('timeout')) return 'Uw systeem antwoordde niet op tijd.';
  if (err.includes('ssl') || err.includes('certificate') || err.includes('tls')) {
    return 'De beveiligde verbinding met uw systeem lukte niet (certificaat).';
  }
  if (err.includes('connect')) return 'Uw systeem was niet bereikbaar.';
  return 'Het versturen lukte niet.';
}
