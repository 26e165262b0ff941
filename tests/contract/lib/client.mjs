// client.mjs: a raw HTTP/1.1 client over one keep-alive TCP connection. The fuzzer needs
// bytes that Node's own http client refuses to send (raw non-ASCII in the target, invalid
// UTF-8 in header values, duplicate keys in a body), so requests are written as bytes and
// answers parsed by hand. Every answer is complete, or the exchange says why it is not:
// "closed" (the server dropped the connection without an answer) or "timeout".
import net from 'node:net';

const CRLF = Buffer.from('\r\n');

// Serialises a request: target is a Buffer or latin1 string, headers [name, Buffer|string].
export function encodeRequest({ method, target, headers, body }) {
  const parts = [Buffer.from(`${method} `, 'latin1'), Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'),
    Buffer.from(' HTTP/1.1\r\n', 'latin1')];
  for (const [name, value] of headers) {
    parts.push(Buffer.from(`${name}: `, 'latin1'), Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8'), CRLF);
  }
  if (body) parts.push(Buffer.from(`Content-Length: ${body.length}\r\n`, 'latin1'));
  parts.push(CRLF);
  if (body) parts.push(body);
  return Buffer.concat(parts);
}

// Parses the head of the first response in buf; null until the empty line has arrived.
function parseHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return { error: `not an HTTP status line: ${JSON.stringify(lines[0].slice(0, 80))}` };
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers, bodyStart: end + 4 };
}

// Decodes a complete chunked body from buf (starting at from); null when incomplete.
function dechunk(buf, from) {
  const out = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (Number.isNaN(size)) return { error: 'bad chunk size' };
    if (size === 0) return buf.indexOf('\r\n\r\n', eol) >= 0 || buf.length >= eol + 4 ? { body: Buffer.concat(out) } : null;
    if (buf.length < eol + 2 + size + 2) return null;
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

export class Connection {
  constructor(host, port, { timeoutMs = 15000, streamMs = 100 } = {}) {
    this.host = host;
    this.port = port;
    this.timeoutMs = timeoutMs;
    this.streamMs = streamMs; // how long to listen to an event stream before hanging up
    this.socket = null;
  }

  close() {
    if (this.socket) this.socket.destroy();
    this.socket = null;
  }

  // Sends one request (bytes from encodeRequest) and resolves with
  // { status, headers, body, ms } or { error: 'closed' | 'timeout' | text, ms }.
  // head: the request was HEAD (no body follows the head).
  async exchange(bytes, { head = false } = {}) {
    const started = performance.now();
    const result = await this.#exchange(bytes, head);
    result.ms = performance.now() - started;
    if (result.error || /close/i.test(result.headers?.connection || '')) this.close();
    return result;
  }

  #connect() {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  async #exchange(bytes, head) {
    if (!this.socket || this.socket.destroyed) {
      try {
        this.socket = await this.#connect();
      } catch (e) {
        return { error: `connect: ${e.code || e.message}` };
      }
    }
    const socket = this.socket;
    return new Promise((resolve) => {
      let buf = Buffer.alloc(0);
      let done = false;
      let streamTimer = null;
      const finish = (result) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearTimeout(streamTimer);
        socket.off('data', onData);
        socket.off('close', onClose);
        socket.off('error', onError);
        resolve(result);
      };
      const timer = setTimeout(() => finish({ error: 'timeout' }), this.timeoutMs);
      const tryParse = (ended) => {
        const h = parseHead(buf);
        if (!h) return ended ? finish({ error: buf.length ? 'closed mid-answer' : 'closed' }) : undefined;
        if (h.error) return finish({ error: h.error });
        const answer = { status: h.status, headers: h.headers };
        const noBody = head || h.status === 204 || h.status === 304 || (h.status >= 100 && h.status < 200);
        if (noBody) return finish({ ...answer, body: Buffer.alloc(0) });
        if (/text\/event-stream/i.test(h.headers['content-type'] || '')) {
          // A live stream never ends by itself: keep what arrives for a moment, then hang up.
          if (!streamTimer) {
            streamTimer = setTimeout(() => {
              this.close();
              finish({ ...answer, body: buf.subarray(h.bodyStart), streamed: true });
            }, this.streamMs);
          }
          return undefined;
        }
        if (/chunked/i.test(h.headers['transfer-encoding'] || '')) {
          const d = dechunk(buf, h.bodyStart);
          if (d?.error) return finish({ error: d.error });
          if (d) return finish({ ...answer, body: d.body });
          return ended ? finish({ error: 'closed mid-answer' }) : undefined;
        }
        if ('content-length' in h.headers) {
          const len = Number(h.headers['content-length']);
          if (buf.length - h.bodyStart >= len) return finish({ ...answer, body: buf.subarray(h.bodyStart, h.bodyStart + len) });
          return ended ? finish({ error: 'closed mid-answer' }) : undefined;
        }
        // Neither framing: the body runs to the end of the connection.
        return ended ? finish({ ...answer, body: buf.subarray(h.bodyStart) }) : undefined;
      };
      const onData = (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        tryParse(false);
      };
      const onClose = () => tryParse(true);
      // A reset while we still write (the server answered early and closed) is not yet a
      // failure: the answer may already be in buf, and 'close' follows.
      const onError = () => {};
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', onError);
      socket.write(bytes, () => {});
    });
  }
}
