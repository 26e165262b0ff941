// portaal/vervoer.js: who brings and collects the guest (the API's Transport on a stay's
// arrival and departure), for the request page and Mijn logeerplekken: the fields, reading
// them back as the API wants them, and the arrangement and the pool's windows in words.
// Knows no stay and sends nothing; the pages do that.
import { el } from '/common/dom.js';

const WHO = {
  arrival: {
    legend: 'Brengen', verb: 'brengt',
    by: [['', 'Weet ik nog niet'], ['caregiver', 'Ik breng mijn naaste zelf'],
      ['provider', 'De logeerplek regelt het vervoer'], ['other', 'Iemand anders brengt mijn naaste']],
    said: { caregiver: 'U brengt uw naaste', provider: 'De logeerplek regelt het vervoer',
      other: 'Iemand anders brengt uw naaste' },
    window: 'De logeerplek ontvangt gasten'
  },
  departure: {
    legend: 'Ophalen', verb: 'haalt op',
    by: [['', 'Weet ik nog niet'], ['caregiver', 'Ik haal mijn naaste zelf op'],
      ['provider', 'De logeerplek brengt mijn naaste thuis'], ['other', 'Iemand anders haalt mijn naaste op']],
    said: { caregiver: 'U haalt uw naaste op', provider: 'De logeerplek brengt uw naaste thuis',
      other: 'Iemand anders haalt uw naaste op' },
    window: 'Uw naaste kan worden opgehaald'
  }
};

// '14:00-17:00' -> 'tussen 14:00 en 17:00 uur'; '' without a window.
export function windowWords(w) {
  return w ? `tussen ${w.replace('-', ' en ')} uur` : '';
}

// 'U brengt uw naaste om 15:30 uur (dochter brengt)'; 'Nog niet afgesproken' for null.
export function transportText(t, which) {
  if (!t) return 'Nog niet afgesproken';
  return WHO[which].said[t.by] + (t.time ? ` om ${t.time} uur` : '') + (t.note ? ` (${t.note})` : '');
}

// One fieldset (arrival or departure) with who, what time and a note. Names follow the API's
// field names ("arrival.time"), so common/form.js puts the API's refusals at the right field.
// prefix keeps ids unique when a page shows more than one form; t fills in what is arranged.
export function transportFieldset(which, window, prefix = '', t = null) {
  const w = WHO[which];
  const id = (f) => `${prefix}${which}-${f}`;
  const by = el('select', { class: 'select', id: id('by'), name: `${which}.by` });
  for (const [value, text] of w.by) by.append(new Option(text, value, false, !!t && t.by === value));
  const hint = window ? el('p', { class: 'field__hint', id: id('venster') }, `${w.window} ${windowWords(window)}.`) : null;
  const time = el('input', { class: 'textbox textbox--short', type: 'time', id: id('time'), name: `${which}.time`,
    'aria-describedby': hint ? id('venster') : null, value: t && t.time ? t.time : null });
  const note = el('input', { class: 'textbox', type: 'text', id: id('note'), name: `${which}.note`, maxlength: '300',
    autocomplete: 'off', 'aria-describedby': id('note-hint'), value: t && t.note ? t.note : null });
  return el('fieldset', { class: 'field vervoer' },
    el('legend', { class: 'field__label' }, w.legend),
    hint,
    el('div', { class: 'field' }, el('label', { class: 'field__label', for: id('by') }, 'Wie ' + w.verb + '?'), by),
    el('div', { class: 'field' }, el('label', { class: 'field__label', for: id('time') }, 'Hoe laat? (niet verplicht)'), time),
    el('div', { class: 'field' }, el('label', { class: 'field__label', for: id('note') }, 'Afspraken (niet verplicht)'),
      el('p', { class: 'field__hint', id: id('note-hint') },
        'Bijvoorbeeld: dochter brengt, rolstoel gaat mee. Schrijf geen medische gegevens op.'),
      note));
}

// The form's arrangement for which: a Transport, null when nothing is filled in, and in
// missing the field that must be chosen when a time or note was given without who.
export function transportValue(form, which, missing) {
  const by = form.elements[`${which}.by`].value;
  const time = form.elements[`${which}.time`].value.trim().slice(0, 5);
  const note = form.elements[`${which}.note`].value.trim();
  if (!by) {
    if (time || note)
      missing[`${which}.by`] = which === 'arrival' ? 'Kies wie uw naaste brengt.' : 'Kies wie uw naaste ophaalt.';
    return null;
  }
  const t = { by };
  if (time) t.time = time;
  if (note) t.note = note;
  return t;
}
