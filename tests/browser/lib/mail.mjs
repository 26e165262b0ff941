// lib/mail.mjs: reads what the real SMTP server of the tests received (tests/integration/
// smtp_sink.py writes one JSON file per message: mail_from, rcpt_tos, data) and finds links in
// the plain-text part, decoded from quoted-printable as a mail program would. Polls, because
// the engine sends after it answers.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function decodeQuotedPrintable(text) {
  const bytes = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function header(block, name) {
  const m = new RegExp('^' + name + ':\\s*(.*)$', 'mi').exec(block);
  return m ? m[1].trim() : '';
}

// The decoded text/plain part of a raw multipart message ('' when there is none).
function plainPart(raw) {
  for (const part of raw.split(/\r?\n--[^\r\n]+\r?\n/)) {
    const cut = part.search(/\r?\n\r?\n/);
    if (cut < 0) continue;
    const head = part.slice(0, cut);
    if (!/^content-type:\s*text\/plain/mi.test(head)) continue;
    const body = part.slice(cut).replace(/^\r?\n\r?\n/, '');
    return /quoted-printable/i.test(header(head, 'Content-Transfer-Encoding'))
      ? decodeQuotedPrintable(body) : body;
  }
  return '';
}

function decodeSubject(raw) {
  const s = header(raw.split(/\r?\n\r?\n/)[0], 'Subject');
  return s.replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, enc, text) => enc.toLowerCase() === 'b'
    ? Buffer.from(text, 'base64').toString('utf8')
    : decodeQuotedPrintable(text.replace(/_/g, ' '))).replace(/\?=\s+=\?/g, '');
}

// Every message to `to` whose subject is `subject`, oldest first: { subject, text }.
export function mailsTo(dir, to, subject) {
  const out = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort((a, b) => parseInt(a) - parseInt(b))) {
    const rec = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    if (!rec.rcpt_tos.includes(to)) continue;
    const s = decodeSubject(rec.data);
    if (s === subject) out.push({ subject: s, text: plainPart(rec.data) });
  }
  return out;
}

// Waits for the count-th such message and returns the first link in it that starts with base.
export async function waitForLink(dir, to, subject, base, count = 1, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const mails = mailsTo(dir, to, subject);
    if (mails.length >= count) {
      const text = mails[count - 1].text;
      const at = text.indexOf(base);
      return at < 0 ? '' : text.slice(at).split(/\s/)[0];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}
