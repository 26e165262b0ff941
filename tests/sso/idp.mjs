// tests/sso/idp.mjs: the identity providers the single sign-on tests sign in at. Owns two
// loopback servers and nothing else:
//  - a REAL OpenID Provider (npm oidc-provider, its development login and consent pages) with
//    one client registered for logeerd; any login name is an account whose email it is;
//  - a small "crafted" issuer of our own: discovery, an authorization endpoint that answers at
//    once, a token endpoint that checks the client and the PKCE verifier for real and then
//    hands out an ID token shaped by the current mode (good, wrong nonce, wrong audience,
//    expired, altered signature, unknown key, HS256, wrong issuer), signed with jose, and the
//    JWKS with the one key logeerd should trust. Tokens a real provider would never issue can
//    only be made this way; the tests say which issuer each case uses.
// Usage: node idp.mjs <op-port> <crafted-port> <redirect-uri>; prints one JSON line when ready.
// GET http://127.0.0.1:<crafted-port>/mode?set=<mode> picks the next tokens' shape.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const [opPort, craftedPort, redirectUri] = process.argv.slice(2);
const CLIENT_ID = 'logeerd';
const CLIENT_SECRET = 'logeerd-test-client-secret';

// ---- the real provider -------------------------------------------------------------------------

const opIssuer = `http://127.0.0.1:${opPort}`;
const op = new Provider(opIssuer, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  // Like Google and Entra ID, put the email scope's claims in the ID token itself.
  conformIdTokenClaims: false,
  cookies: { keys: ['logeer-sso-test-cookie-key'] },
  // Any login name is an account, and its email is the login name: the test decides who signs
  // in (a planner, a stranger) by what it types on the provider's own login page.
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: id.split('@')[0] };
      },
    };
  },
});
op.proxy = false;

// ---- the crafted issuer ------------------------------------------------------------------------

const craftedIssuer = `http://127.0.0.1:${craftedPort}`;
const { publicKey, privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const other = await jose.generateKeyPair('RS256', { extractable: true });
const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
let mode = 'good';
let jwksFetches = 0;
const codes = new Map(); // code -> { nonce, challenge, email }

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

async function idToken(c) {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: craftedIssuer, aud: CLIENT_ID, sub: c.email, email: c.email, email_verified: true,
    nonce: c.nonce, iat: now, exp: now + 300, amr: ['pwd', 'mfa'],
  };
  let key = privateKey;
  let kid = 'k1';
  if (mode === 'wrong_nonce') claims.nonce = 'not-the-nonce-logeerd-sent';
  if (mode === 'wrong_audience') claims.aud = 'some-other-client';
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'wrong_issuer') claims.iss = 'http://127.0.0.1:1';
  if (mode === 'no_factor') claims.amr = ['pwd'];
  if (mode === 'unknown_key') { key = other.privateKey; kid = 'k2'; }
  if (mode === 'hs256') {
    // The classic confusion attack: the public key's modulus used as an HMAC secret.
    const secret = Buffer.from(publicJwk.n, 'base64url');
    return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(secret);
  }
  let token = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key);
  if (mode === 'bad_signature') {
    // Change one signature byte in the middle (the last character may only carry padding).
    const [h, p, s] = token.split('.');
    const sig = Buffer.from(s, 'base64url');
    sig[sig.length >> 1] ^= 0x01;
    token = `${h}.${p}.${b64url(sig)}`;
  }
  return token;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const ch of req) chunks.push(ch);
  return Buffer.concat(chunks).toString();
}

async function crafted(req, res) {
  const url = new URL(req.url, craftedIssuer);
  if (url.pathname === '/.well-known/openid-configuration') {
    return send(res, 200, {
      issuer: craftedIssuer,
      authorization_endpoint: `${craftedIssuer}/auth`,
      token_endpoint: `${craftedIssuer}/token`,
      jwks_uri: `${craftedIssuer}/jwks`,
      response_types_supported: ['code'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (url.pathname === '/jwks') {
    jwksFetches += 1;
    return send(res, 200, { keys: [publicJwk] });
  }
  if (url.pathname === '/mode') {
    if (url.searchParams.get('set')) mode = url.searchParams.get('set');
    return send(res, 200, { mode, jwks_fetches: jwksFetches });
  }
  if (url.pathname === '/auth') {
    // Answers at once as the person named in login_hint (or a planner), no pages.
    const q = url.searchParams;
    const code = crypto.randomBytes(16).toString('hex');
    codes.set(code, { nonce: q.get('nonce'), challenge: q.get('code_challenge'),
                      email: url.searchParams.get('login_hint') || 'planner@zorg-b.test',
                      method: q.get('code_challenge_method'), redirect: q.get('redirect_uri') });
    const back = new URL(q.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state'));
    res.writeHead(302, { location: back.toString() });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const auth = req.headers.authorization || '';
    const basic = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString();
    const [id, secret] = basic.split(':').map(decodeURIComponent);
    if (id !== CLIENT_ID || secret !== CLIENT_SECRET) return send(res, 401, { error: 'invalid_client' });
    const c = codes.get(form.get('code'));
    codes.delete(form.get('code'));
    const verifier = form.get('code_verifier') || '';
    const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
    if (!c || c.method !== 'S256' || challenge !== c.challenge || form.get('redirect_uri') !== c.redirect) {
      return send(res, 400, { error: 'invalid_grant' });
    }
    return send(res, 200, { access_token: 'x', token_type: 'Bearer', id_token: await idToken(c) });
  }
  return send(res, 404, { error: 'not_found' });
}

http.createServer(op.callback()).listen(Number(opPort), '127.0.0.1', () => {
  http.createServer((req, res) => {
    crafted(req, res).catch((e) => send(res, 500, { error: String(e) }));
  }).listen(Number(craftedPort), '127.0.0.1', () => {
    console.log(JSON.stringify({ op: opIssuer, crafted: craftedIssuer, client_id: CLIENT_ID,
                                 client_secret: CLIENT_SECRET }));
  });
});
