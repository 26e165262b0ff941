// ical-parse.mjs: reads an iCalendar file with ical.js (an independent RFC 5545 parser, pinned
// in this folder's package-lock.json) and prints what it understood as JSON, so that the
// Python integration tests compare a calendar feed with the stays as another program reads
// it, not as our own writer meant it. Usage: node lib/ical-parse.mjs <file.ics>
// Exit 1 (with the parser's message) when the file does not parse.
import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

function moment(time, prop) {
  if (!time) return null;
  return {
    value: time.toString(),
    is_date: time.isDate,
    tzid: prop ? prop.getParameter('tzid') || null : null,
    utc: time.isDate ? null : time.toJSDate().toISOString(),
  };
}

try {
  const text = readFileSync(process.argv[2], 'utf8');
  const cal = new ICAL.Component(ICAL.parse(text));
  for (const tz of cal.getAllSubcomponents('vtimezone')) ICAL.TimezoneService.register(tz);
  const events = cal.getAllSubcomponents('vevent').map((c) => {
    const ev = new ICAL.Event(c);
    return {
      uid: ev.uid,
      sequence: ev.sequence,
      status: c.getFirstPropertyValue('status'),
      transp: c.getFirstPropertyValue('transp'),
      summary: ev.summary,
      description: ev.description,
      location: ev.location,
      dtstamp: c.getFirstPropertyValue('dtstamp')?.toString() ?? null,
      start: moment(ev.startDate, c.getFirstProperty('dtstart')),
      end: moment(ev.endDate, c.getFirstProperty('dtend')),
    };
  });
  const out = {
    version: cal.getFirstPropertyValue('version'),
    name: cal.getFirstPropertyValue('x-wr-calname'),
    timezones: cal.getAllSubcomponents('vtimezone').map((tz) => tz.getFirstPropertyValue('tzid')),
    events,
  };
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`ical.js could not read the file: ${e.message}`);
  process.exit(1);
}
