/* passkeys: WebAuthn for people. Registering a passkey on one's own account (a user_factors
 * row of kind passkey, details in table passkeys), listing and removing them, signing in with
 * one instead of a password, and proving one as the second step or a step-up. This file
 * issues and consumes the challenges (single-use, short-lived, stored hashed and bound to the
 * person and session), stores credentials, counts failures for the rate limit and writes the
 * access log; the cryptographic checks are src/auth/webauthn.c's. The browser's word on who
 * signed is never taken: the credential id finds the stored key and the signature decides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "handlers.h"
#include "logeer/config.h"
#include "logeer/log.h"
#include "logeer/session_cache.h"
#include "logeer/webauthn.h"
#include "resource.h"

#define CHALLENGE_TTL_S 300     /* a ceremony must finish within five minutes */
#define FAIL_WINDOW_S 900       /* failures count for fifteen minutes */
#define FAIL_PER_ADDRESS 20
#define FAIL_PER_USER 10
#define PENDING_SIGNIN_PER_ADDRESS 50 /* unused sign-in challenges one address may hold */
#define MISSING "passkey not found"

/* Decoded sizes the browser's members may have; anything longer is refused unread. */
#define CLIENT_DATA_MAX 8192
#define OBJECT_MAX 16384
#define SIGNATURE_MAX 1024

/* The relying party this process is: LOGEER_PUBLIC_URL's host and origin, set at start. */
static struct webauthn_rp rp;

/* A PostgreSQL bytea as base64url text (encode's base64 wraps lines and pads). */
#define B64URL(x) "translate(encode(" x ", 'base64'), E'+/=\\n', '-_')"

/* The who-and-where columns of an access-log row. */
#define LOG_INSERT "INSERT INTO access_log (user_id, role, action, request_id, address, route, detail) "

static const char *const purpose_names[] = {"register", "signin", "factor"};
enum purpose { PURPOSE_REGISTER, PURPOSE_SIGNIN, PURPOSE_FACTOR };

static int passkeys_prepare(struct app *app)
{
    /* Without a usable rp the rest of the service still runs; every passkey answer is then
     * refused (no origin matches an empty one), and the log says why. */
    if (webauthn_rp_from_url(app->cfg->public_url, &rp) != 0) {
        memset(&rp, 0, sizeof rp);
        log_warn("LOGEER_PUBLIC_URL %s names no host a passkey can belong to: passkeys will "
                 "be refused", app->cfg->public_url);
    }
    /* $1 challenge (hex), $2 purpose, $3 user, $4 session, $5 address, $6 ttl, $7 the most
     * unused sign-in challenges per address. Expired challenges are swept on the way. Answers
     * whether it was stored, and the person's passkeys (to exclude or to allow). */
    if (api_prepare(app, "passkey_challenge",
                    "WITH gc AS (DELETE FROM webauthn_challenges WHERE expires_at < now()), "
                    "pending AS (SELECT count(*) AS n FROM webauthn_challenges "
                    "WHERE address = $5::inet AND purpose = 'signin' AND expires_at > now()), "
                    "ins AS (INSERT INTO webauthn_challenges (challenge_hash, purpose, user_id, "
                    "session_hash, address, expires_at) SELECT sha256(decode($1, 'hex')), $2, "
                    "$3::uuid, $4::bytea, $5::inet, now() + make_interval(secs => $6::int) "
                    "FROM pending WHERE $2 <> 'signin' OR n < $7::int RETURNING 1) "
                    "SELECT (SELECT count(*) FROM ins), coalesce((SELECT json_agg("
                    "json_build_object('type', 'public-key', 'id', " B64URL("p.credential_id")
                    ", 'transports', p.transports) ORDER BY f.created_at) FROM passkeys p "
                    "JOIN user_factors f ON f.id = p.factor_id WHERE f.user_id = $3::uuid), "
                    "'[]')::text"))
        return -1;
    /* $1 challenge (hex), $2 purpose, $3 user (NULL for sign-in), $4 session (NULL for
     * sign-in), $5 address, $6 window, $7 per address, $8 per user, $9 credential id (hex;
     * NULL for registration). In one round trip: the rate limit, the challenge used up (only
     * when the limit allows), and the stored credential with its person. */
    if (api_prepare(app, "passkey_begin",
                    "WITH cred AS (SELECT p.factor_id, encode(p.public_key, 'hex') AS pk, p.alg, "
                    "p.sign_count, u.id AS user_id, u.role::text AS role, "
                    "coalesce(u.provider_id::text, '') AS provider_id, "
                    "coalesce(u.municipality, '') AS municipality, u.email "
                    "FROM passkeys p JOIN user_factors f ON f.id = p.factor_id "
                    "JOIN users u ON u.id = f.user_id WHERE $9::text IS NOT NULL "
                    "AND p.credential_id = decode($9::text, 'hex') AND f.confirmed_at IS NOT NULL "
                    "AND u.disabled_at IS NULL AND u.erased_at IS NULL "
                    "AND ($3::uuid IS NULL OR u.id = $3::uuid)), "
                    "who AS (SELECT coalesce($3::uuid, (SELECT user_id FROM cred)) AS id), "
                    "fails AS (SELECT count(*) FILTER (WHERE x.address = $5::inet) AS by_address, "
                    "count(*) FILTER (WHERE x.user_id = (SELECT id FROM who)) AS by_user, "
                    "min(x.at) AS oldest FROM passkey_failures x "
                    "WHERE x.at > now() - make_interval(secs => $6::int) "
                    "AND (x.address = $5::inet OR x.user_id = (SELECT id FROM who))), "
                    "ok AS (SELECT by_address < $7::int AND by_user < $8::int AS allowed, oldest "
                    "FROM fails), "
                    "used AS (DELETE FROM webauthn_challenges w WHERE (SELECT allowed FROM ok) "
                    "AND w.challenge_hash = sha256(decode($1, 'hex')) AND w.purpose = $2 "
                    "AND w.user_id IS NOT DISTINCT FROM $3::uuid "
                    "AND w.session_hash IS NOT DISTINCT FROM $4::bytea "
                    "AND w.expires_at > now() RETURNING 1) "
                    "SELECT CASE WHEN ok.allowed THEN 0 ELSE greatest(1, ceil(extract(epoch FROM "
                    "ok.oldest + make_interval(secs => $6::int) - now())))::int END, "
                    "EXISTS (SELECT 1 FROM used), cred.factor_id, cred.pk, cred.alg, "
                    "cred.sign_count, cred.user_id, cred.role, cred.provider_id, "
                    "cred.municipality, cred.email FROM ok LEFT JOIN cred ON true"))
        return -1;
    /* $1 user, $2 role, $3 address, $4 request id, $5 route, $6 action, $7 detail. */
    if (api_prepare(app, "passkey_failure",
                    "WITH f AS (INSERT INTO passkey_failures (user_id, address) "
                    "VALUES ($1::uuid, $3::inet)), "
                    "gc AS (DELETE FROM passkey_failures WHERE at < now() - interval '1 day') "
                    LOG_INSERT "VALUES ($1::uuid, $2::user_role, $6, $4, $3::inet, $5, "
                    "$7::jsonb)"))
        return -1;
    /* $1 user, $2 label, $3 credential id, $4 key (hex), $5 alg, $6 counter, $7 aaguid, $8
     * transports (JSON), $9 backup eligible, $10 backed up, $11 format, $12 role, $13 request
     * id, $14 address, $15 route. */
    if (api_prepare(app, "passkey_insert",
                    "WITH f AS (INSERT INTO user_factors (user_id, kind, label, confirmed_at) "
                    "VALUES ($1::uuid, 'passkey', $2, now()) RETURNING id, label, created_at), "
                    "p AS (INSERT INTO passkeys (factor_id, credential_id, public_key, alg, "
                    "sign_count, aaguid, transports, backup_eligible, backed_up, "
                    "attestation_format) SELECT f.id, decode($3, 'hex'), decode($4, 'hex'), "
                    "$5::int, $6::bigint, $7::uuid, ARRAY(SELECT jsonb_array_elements_text("
                    "$8::jsonb)), $9::bool, $10::bool, $11 FROM f "
                    "RETURNING factor_id, transports, backed_up), "
                    "l AS (" LOG_INSERT "SELECT $1::uuid, $12::user_role, 'passkey.register', $13, "
                    "$14::inet, $15, jsonb_build_object('factor', f.id, 'format', $11, "
                    "'aaguid', $7::uuid) FROM f) "
                    "SELECT json_build_object('id', f.id, 'label', f.label, 'created_at', "
                    RES_TS("f.created_at") ", 'last_used_at', NULL, 'backed_up', p.backed_up, "
                    "'transports', p.transports)::text FROM f JOIN p ON p.factor_id = f.id"))
        return -1;
    /* The counter moves only forward (or stays 0 for authenticators without one), also
     * against a concurrent use of the same credential: no row means a clone. $1 factor, $2
     * new counter, $3 user, $4 role, $5 request id, $6 address, $7 route, $8 purpose. */
#define COUNTER_UPDATE                                                                       \
    "WITH p AS (UPDATE passkeys SET sign_count = $2::bigint WHERE factor_id = $1::uuid "     \
    "AND (sign_count < $2::bigint OR (sign_count = 0 AND $2::bigint = 0)) "                  \
    "RETURNING factor_id), "                                                                 \
    "f AS (UPDATE user_factors SET last_used_at = now() WHERE id IN (SELECT factor_id FROM p)), " \
    "l AS (" LOG_INSERT "SELECT $3::uuid, $4::user_role, 'passkey.use', $5, $6::inet, $7, "  \
    "jsonb_build_object('factor', $1::uuid, 'purpose', $8::text) FROM p) "
    if (api_prepare(app, "passkey_used", COUNTER_UPDATE "SELECT count(*) FROM p"))
        return -1;
    /* The same, and a whole session for a passwordless sign-in: the passkey with user
     * verification is two factors at once (RFC 8176: hwk, user, mfa). $9 token hash, $10
     * lifetime, $11 idle timeout, $12 user agent. */
    if (api_prepare(app, "passkey_signin",
                    COUNTER_UPDATE ", s AS (INSERT INTO sessions (token_hash, user_id, expires_at, "
                    "idle_timeout, address, user_agent, factor_at, amr) SELECT $9::bytea, $3::uuid, "
                    "now() + make_interval(secs => $10::int), make_interval(secs => $11::int), "
                    "$6::inet, left($12, 512), now(), '{hwk,user,mfa}' FROM p "
                    "RETURNING expires_at) SELECT " RES_TS("expires_at") " FROM s"))
        return -1;
    if (api_prepare(app, "passkey_list",
                    "SELECT json_build_object('passkeys', coalesce(json_agg(json_build_object("
                    "'id', f.id, 'label', f.label, 'created_at', " RES_TS("f.created_at") ", "
                    "'last_used_at', " RES_TS("f.last_used_at") ", 'backed_up', p.backed_up, "
                    "'transports', p.transports) ORDER BY f.created_at, f.id), '[]'::json))::text "
                    "FROM user_factors f JOIN passkeys p ON p.factor_id = f.id "
                    "WHERE f.user_id = $1::uuid"))
        return -1;
    /* $1 user, $2 passkey, $3 the session to keep, $4 role, $5 request id, $6 address, $7
     * route. The person's other sessions end with it: one of them may be the thief's. */
    return api_prepare(app, "passkey_delete",
                       "WITH d AS (DELETE FROM user_factors f WHERE f.id = $2::uuid "
                       "AND f.user_id = $1::uuid AND f.kind = 'passkey' RETURNING f.id), "
                       "s AS (UPDATE sessions SET revoked_at = now() WHERE user_id = $1::uuid "
                       "AND revoked_at IS NULL AND token_hash <> $3::bytea "
                       "AND EXISTS (SELECT 1 FROM d) RETURNING 1), "
                       "l AS (" LOG_INSERT "SELECT $1::uuid, $4::user_role, 'passkey.remove', $5, "
                       "$6::inet, $7, jsonb_build_object('factor', d.id, 'sessions_ended', "
                       "(SELECT count(*) FROM s)) FROM d) "
                       "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM s)");
}

/* ---- request state ------------------------------------------------------------------------ */

/* One ceremony's request as it passes through the callbacks. */
struct ceremony {
    enum purpose purpose;
    unsigned char challenge[WEBAUTHN_CHALLENGE_LEN];
    unsigned char client_data[CLIENT_DATA_MAX];
    size_t client_data_len;
    unsigned char object[OBJECT_MAX]; /* attestationObject, or authenticatorData */
    size_t object_len;
    unsigned char signature[SIGNATURE_MAX];
    size_t signature_len;
    unsigned char raw_id[WEBAUTHN_CREDENTIAL_ID_MAX];
    size_t raw_id_len;
    unsigned char user_handle[64];
    long user_handle_len;           /* -1 when the browser sent none */
    char label[101];
    char transports[160];           /* a JSON array of the transports we know */
    bool cookie;                    /* sign-in for the pages: the token goes into cookies */
    char factor_id[37];             /* the passkey used (assertions) */
    struct principal owner;         /* its person */
    struct webauthn_credential cred; /* a registration's checked credential */
    uint32_t new_count;
    char token[AUTH_TOKEN_LEN];
    char *reply;                    /* a registration's answer, while factor_at is written */
    enum problem_kind fail_kind;    /* the refusal being logged, answered once it is */
    char fail_detail[200];
};

static void ceremony_free(void *p)
{
    struct ceremony *m = p;
    webauthn_credential_clear(&m->cred);
    free(m->reply);
    explicit_bzero(m->token, sizeof m->token);
    free(m);
}

static void hex_of(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* The 16 bytes of a UUID's text: the user handle passkeys carry (no email, no name). */
static void uuid_bytes(const char *uuid, unsigned char out[16])
{
    size_t o = 0;
    for (const char *p = uuid; *p && o < 32; p++) {
        if (*p == '-')
            continue;
        unsigned v = (unsigned)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10) & 15;
        out[o / 2] = (unsigned char)(o % 2 ? (out[o / 2] | v) : v << 4);
        o++;
    }
}

/* The who-and-where parameters of an access-log row: role, request id, address, route. */
struct log_where {
    char addr[64], route[160];
};

static const char *log_route(struct api_ctx *c, struct log_where *w)
{
    snprintf(w->route, sizeof w->route, "%s %s", http_method_name(c->req->method),
             c->route->pattern);
    return w->route;
}

/* ---- refusals ---------------------------------------------------------------------------- */

static void failure_logged(struct api_ctx *c, const struct db_result *r)
{
    struct ceremony *m = c->state;
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (m->purpose == PURPOSE_REGISTER) {
        res_reply_field(c, "credential", m->fail_detail, "the passkey could not be registered");
        return;
    }
    api_reply_problem(c, m->fail_kind, "%s", m->fail_detail);
}

/* Counts a failed ceremony for the rate limit, logs it (a clone as action passkey.clone,
 * everything else as passkey.failure, with the reason) and then answers. */
static void ceremony_refuse(struct api_ctx *c, const char *reason, const char *detail)
{
    struct ceremony *m = c->state;
    m->fail_kind = PROBLEM_PASSKEY_REFUSED;
    snprintf(m->fail_detail, sizeof m->fail_detail, "%s (%s)", detail, reason);
    bool clone = strcmp(reason, webauthn_status_name(WEBAUTHN_COUNTER_REGRESSED)) == 0;
    if (clone)
        log_warn("passkey %s of user %s: counter went back, a cloned authenticator?",
                 m->factor_id, m->owner.user_id);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "purpose", purpose_names[m->purpose]);
    cJSON_AddStringToObject(d, "reason", reason);
    if (m->factor_id[0])
        cJSON_AddStringToObject(d, "factor", m->factor_id);
    char *detail_json = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    struct log_where w;
    const char *user = m->owner.user_id[0] ? m->owner.user_id : NULL;
    const char *params[] = {user, user ? role_name(m->owner.role) : NULL,
                            api_peer_address(c, w.addr, sizeof w.addr), c->req->request_id,
                            log_route(c, &w), clone ? "passkey.clone" : "passkey.failure",
                            detail_json ? detail_json : "{}"};
    api_query(c, "passkey_failure", 7, params, failure_logged);
    cJSON_free(detail_json);
}

/* ---- reading the browser's credential ------------------------------------------------------ */

/* A base64url member of obj decoded into out (at most cap bytes); false and an error in v
 * when absent, not a string, not base64url, empty or too long. */
static bool b64_member(struct jsonv *v, const cJSON *obj, const char *field, const char *path,
                       unsigned char *out, size_t cap, size_t *len)
{
    const cJSON *item = obj ? cJSON_GetObjectItemCaseSensitive(obj, field) : NULL;
    long n = cJSON_IsString(item) && strlen(item->valuestring) <= cap * 4 / 3 + 4
                 ? webauthn_b64url_decode(item->valuestring, out, cap)
                 : -1;
    if (n <= 0) {
        jsonv_error(v, path, "must be base64url, as the browser gives it");
        return false;
    }
    *len = (size_t)n;
    return true;
}

/* The transports a registration reports, kept when we know them: they only help the browser
 * pick the authenticator next time, so an unknown one is dropped, not refused. */
static void transports_read(const cJSON *response, char *out, size_t size)
{
    static const char *const known[] = {"usb", "nfc", "ble", "internal", "hybrid",
                                        "smart-card", NULL};
    cJSON *list = cJSON_CreateArray();
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(response, "transports");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, t)
    {
        for (int k = 0; cJSON_IsString(e) && known[k] && n < 8; k++)
            if (strcmp(e->valuestring, known[k]) == 0) {
                cJSON_AddItemToArray(list, cJSON_CreateString(known[k]));
                n++;
            }
    }
    char *text = cJSON_PrintUnformatted(list);
    snprintf(out, size, "%s", text ? text : "[]");
    cJSON_free(text);
    cJSON_Delete(list);
}

/* Reads body.credential (PublicKeyCredential's JSON form) into m: the raw id and, for a
 * registration, clientDataJSON and attestationObject, else clientDataJSON, authenticatorData,
 * signature and userHandle. Members the browser adds beyond these are ignored. */
static void credential_read(struct jsonv *v, const cJSON *body, struct ceremony *m)
{
    const cJSON *cred = cJSON_GetObjectItemCaseSensitive(body, "credential");
    if (!cJSON_IsObject(cred)) {
        jsonv_error(v, "credential", "is required: what navigator.credentials gave");
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(cred, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "public-key") != 0)
        jsonv_error(v, "credential.type", "must be public-key");
    b64_member(v, cred, "rawId", "credential.rawId", m->raw_id, sizeof m->raw_id, &m->raw_id_len);
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(cred, "response");
    if (!cJSON_IsObject(resp)) {
        jsonv_error(v, "credential.response", "is required");
        return;
    }
    b64_member(v, resp, "clientDataJSON", "credential.response.clientDataJSON", m->client_data,
               sizeof m->client_data, &m->client_data_len);
    if (m->purpose == PURPOSE_REGISTER) {
        b64_member(v, resp, "attestationObject", "credential.response.attestationObject",
                   m->object, sizeof m->object, &m->object_len);
        transports_read(resp, m->transports, sizeof m->transports);
        return;
    }
    b64_member(v, resp, "authenticatorData", "credential.response.authenticatorData", m->object,
               sizeof m->object, &m->object_len);
    b64_member(v, resp, "signature", "credential.response.signature", m->signature,
               sizeof m->signature, &m->signature_len);
    const cJSON *handle = cJSON_GetObjectItemCaseSensitive(resp, "userHandle");
    m->user_handle_len = -1;
    if (cJSON_IsString(handle) && handle->valuestring[0]) {
        size_t n;
        if (b64_member(v, resp, "userHandle", "credential.response.userHandle", m->user_handle,
                       sizeof m->user_handle, &n))
            m->user_handle_len = (long)n;
    } else if (handle && !cJSON_IsNull(handle) && !cJSON_IsString(handle)) {
        jsonv_error(v, "credential.response.userHandle", "must be base64url or null");
    }
}

/* ---- options: a fresh challenge ------------------------------------------------------------ */

struct options {
    enum purpose purpose;
    char challenge[64];     /* base64url */
};

static void options_user(struct api_ctx *c, cJSON *pk)
{
    unsigned char handle[16];
    char handle_b64[32];
    uuid_bytes(c->who.user_id, handle);
    webauthn_b64url_encode(handle, sizeof handle, handle_b64);
    cJSON *user = cJSON_AddObjectToObject(pk, "user");
    cJSON_AddStringToObject(user, "id", handle_b64);
    cJSON_AddStringToObject(user, "name", c->who.email);
    cJSON_AddStringToObject(user, "displayName", c->who.email);
}

/* PublicKeyCredentialCreationOptions / RequestOptions in their JSON form (binary members
 * base64url), under "publicKey", as navigator.credentials takes them once decoded. */
static void options_stored(struct api_ctx *c, const struct db_result *r)
{
    struct options *o = c->state;
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (atoi(db_value(r->res, 0, 0)) != 1) {
        http_reply_header(c->req, "Retry-After", "60");
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "retry_after", 60);
        api_reply_problem_full(c, PROBLEM_RATE_LIMITED,
                               "too many unfinished passkey sign-ins from this address; try "
                               "again after Retry-After seconds", NULL, extra);
        return;
    }
    cJSON *existing = cJSON_Parse(db_value(r->res, 0, 1));
    cJSON *body = cJSON_CreateObject();
    cJSON *pk = cJSON_AddObjectToObject(body, "publicKey");
    cJSON_AddStringToObject(pk, "challenge", o->challenge);
    cJSON_AddNumberToObject(pk, "timeout", CHALLENGE_TTL_S * 1000);
    cJSON_AddStringToObject(pk, "userVerification", "required");
    if (o->purpose == PURPOSE_REGISTER) {
        cJSON *rp_o = cJSON_AddObjectToObject(pk, "rp");
        cJSON_AddStringToObject(rp_o, "id", rp.id);
        cJSON_AddStringToObject(rp_o, "name", "Logeerzorg");
        options_user(c, pk);
        cJSON *params = cJSON_AddArrayToObject(pk, "pubKeyCredParams");
        static const int algs[] = {WEBAUTHN_ES256, WEBAUTHN_EDDSA, WEBAUTHN_RS256};
        for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "type", "public-key");
            cJSON_AddNumberToObject(p, "alg", algs[i]);
            cJSON_AddItemToArray(params, p);
        }
        /* A discoverable credential, so that it can also sign in without a password. */
        cJSON *sel = cJSON_AddObjectToObject(pk, "authenticatorSelection");
        cJSON_AddStringToObject(sel, "residentKey", "required");
        cJSON_AddBoolToObject(sel, "requireResidentKey", true);
        cJSON_AddStringToObject(sel, "userVerification", "required");
        cJSON_AddStringToObject(pk, "attestation", "none");
        cJSON_AddItemToObject(pk, "excludeCredentials", existing ? existing : cJSON_CreateArray());
    } else {
        cJSON_AddStringToObject(pk, "rpId", rp.id);
        /* Sign-in names no person (the passkey says who), the second step only theirs. */
        if (o->purpose == PURPOSE_FACTOR)
            cJSON_AddItemToObject(pk, "allowCredentials",
                                  existing ? existing : cJSON_CreateArray());
        else
            cJSON_Delete(existing);
    }
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, body);
}

static void options_issue(struct api_ctx *c, enum purpose purpose)
{
    struct options *o = res_state_new(c, sizeof *o, NULL);
    if (!o)
        return;
    o->purpose = purpose;
    unsigned char raw[WEBAUTHN_CHALLENGE_LEN];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not make a challenge");
        return;
    }
    char hex[2 * sizeof raw + 1], addr[64], ttl[16], pending[16];
    hex_of(raw, sizeof raw, hex);
    webauthn_b64url_encode(raw, sizeof raw, o->challenge);
    snprintf(ttl, sizeof ttl, "%d", CHALLENGE_TTL_S);
    snprintf(pending, sizeof pending, "%d", PENDING_SIGNIN_PER_ADDRESS);
    bool bound = purpose != PURPOSE_SIGNIN;
    const char *params[] = {hex, purpose_names[purpose], bound ? c->who.user_id : NULL,
                            bound ? c->token_hash : NULL, api_peer_address(c, addr, sizeof addr),
                            ttl, pending};
    api_query(c, "passkey_challenge", 7, params, options_stored);
}

/* Adding a passkey to an account that already has a factor is itself sensitive (a stolen
 * password must not add the thief's key): it needs that factor proven recently. */
static bool may_add_passkey(struct api_ctx *c)
{
    if (!c->who.has_factor)
        return true;
    if (!c->who.factor_at) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddBoolToObject(extra, "enrolled", true);
        api_reply_problem_full(c, PROBLEM_SECOND_FACTOR,
                               "prove your second factor before adding a passkey", NULL, extra);
        return false;
    }
    if ((long long)time(NULL) - c->who.factor_at > c->app->cfg->step_up_s) {
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "max_age", c->app->cfg->step_up_s);
        api_reply_problem_full(c, PROBLEM_STEP_UP,
                               "confirm with your second factor again before adding a passkey",
                               NULL, extra);
        return false;
    }
    return true;
}

static void register_options(struct api_ctx *c)
{
    if (may_add_passkey(c))
        options_issue(c, PURPOSE_REGISTER);
}

static void signin_options(struct api_ctx *c) { options_issue(c, PURPOSE_SIGNIN); }
static void factor_options(struct api_ctx *c) { options_issue(c, PURPOSE_FACTOR); }

/* ---- the ceremonies' common start -------------------------------------------------------- */

static void ceremony_begun(struct api_ctx *c, const struct db_result *r);

/* Reads the body, then asks the database in one go for the rate limit, the challenge (used
 * up here) and the stored credential. */
static void ceremony_start(struct api_ctx *c, enum purpose purpose)
{
    struct ceremony *m = res_state_new(c, sizeof *m, ceremony_free);
    if (!m)
        return;
    m->purpose = purpose;
    static const char *const known_register[] = {"credential", "label", NULL};
    static const char *const known_signin[] = {"credential", "cookie", NULL};
    static const char *const known_factor[] = {"credential", NULL};
    struct jsonv v;
    jsonv_init(&v);
    jsonv_only(&v, c->body, purpose == PURPOSE_REGISTER ? known_register
                            : purpose == PURPOSE_SIGNIN ? known_signin
                                                        : known_factor);
    const char *label = NULL;
    if (purpose == PURPOSE_REGISTER && res_text(&v, c->body, "label", false, 100, &label))
        snprintf(m->label, sizeof m->label, "%s", label);
    if (purpose == PURPOSE_SIGNIN)
        jsonv_bool(&v, c->body, "cookie", false, &m->cookie);
    credential_read(&v, c->body, m);
    if (!jsonv_ok(&v)) {
        res_reply_invalid(c, &v, "check the passkey's answer");
        return;
    }
    if (webauthn_client_challenge(m->client_data, m->client_data_len, m->challenge) != 0) {
        res_reply_field(c, "credential.response.clientDataJSON",
                        "holds no challenge of this server", "check the passkey's answer");
        return;
    }
    char challenge_hex[2 * WEBAUTHN_CHALLENGE_LEN + 1], cred_hex[2 * sizeof m->raw_id + 1];
    char addr[64], window[16], per_address[16], per_user[16];
    hex_of(m->challenge, sizeof m->challenge, challenge_hex);
    hex_of(m->raw_id, m->raw_id_len, cred_hex);
    snprintf(window, sizeof window, "%d", FAIL_WINDOW_S);
    snprintf(per_address, sizeof per_address, "%d", FAIL_PER_ADDRESS);
    snprintf(per_user, sizeof per_user, "%d", FAIL_PER_USER);
    bool bound = purpose != PURPOSE_SIGNIN;
    if (bound)
        m->owner = c->who;
    const char *params[] = {challenge_hex, purpose_names[purpose],
                            bound ? c->who.user_id : NULL, bound ? c->token_hash : NULL,
                            api_peer_address(c, addr, sizeof addr), window, per_address, per_user,
                            purpose == PURPOSE_REGISTER ? NULL : cred_hex};
    api_query(c, "passkey_begin", 9, params, ceremony_begun);
}

static void registration_finish(struct api_ctx *c);
static void assertion_finish(struct api_ctx *c, const struct db_result *r);

static void ceremony_begun(struct api_ctx *c, const struct db_result *r)
{
    struct ceremony *m = c->state;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    int retry = atoi(db_value(r->res, 0, 0));
    if (retry > 0) {
        char text[16];
        snprintf(text, sizeof text, "%d", retry);
        http_reply_header(c->req, "Retry-After", text);
        cJSON *extra = cJSON_CreateObject();
        cJSON_AddNumberToObject(extra, "retry_after", retry);
        api_reply_problem_full(c, PROBLEM_RATE_LIMITED,
                               "too many failed passkey attempts for this account or from this "
                               "address; try again after Retry-After seconds", NULL, extra);
        return;
    }
    if (!db_is_null(r->res, 0, 2)) {
        snprintf(m->factor_id, sizeof m->factor_id, "%s", db_value(r->res, 0, 2));
        struct principal *p = &m->owner;
        snprintf(p->user_id, sizeof p->user_id, "%s", db_value(r->res, 0, 6));
        p->role = role_from_name(db_value(r->res, 0, 7));
        snprintf(p->provider_id, sizeof p->provider_id, "%s", db_value(r->res, 0, 8));
        snprintf(p->municipality, sizeof p->municipality, "%s", db_value(r->res, 0, 9));
        snprintf(p->email, sizeof p->email, "%s", db_value(r->res, 0, 10));
    }
    /* A challenge we never issued, issued for something else or someone else, used before or
     * expired: nothing the browser signed can make it good. */
    if (strcmp(db_value(r->res, 0, 1), "t") != 0) {
        ceremony_refuse(c, "wrong_challenge",
                        "the challenge is unknown, used already or expired; ask for a new one");
        return;
    }
    if (m->purpose == PURPOSE_REGISTER)
        registration_finish(c);
    else
        assertion_finish(c, r);
}

/* ---- registration ------------------------------------------------------------------------- */

static void registered_factor(struct api_ctx *c, const struct db_result *r)
{
    struct ceremony *m = c->state;
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    /* The reply frees the request's state before it sends: the body must outlive it. */
    char *body = m->reply;
    m->reply = NULL;
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 201, body);
    free(body);
}

static const struct res_refusal insert_refusals[] = {
    {"passkeys_credential_unique", PROBLEM_CONFLICT, NULL,
     "this passkey is registered already (to this or another account)"},
    {NULL, 0, NULL, NULL},
};

static void registered(struct api_ctx *c, const struct db_result *r)
{
    struct ceremony *m = c->state;
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        res_reply_db_error(c, r, insert_refusals);
        return;
    }
    char location[96];
    const cJSON *id = NULL;
    cJSON *body = cJSON_Parse(db_value(r->res, 0, 0));
    id = cJSON_GetObjectItemCaseSensitive(body, "id");
    snprintf(location, sizeof location, "/v1/me/passkeys/%s",
             cJSON_IsString(id) ? id->valuestring : "");
    cJSON_Delete(body);
    http_reply_header(c->req, "Location", location);
    /* The person just used this authenticator with user verification: that proves the
     * factor for this session too, so a staff member setting up a first factor goes on. */
    if (!c->who.factor_at) {
        m->reply = strdup(db_value(r->res, 0, 0));
        if (!m->reply) {
            api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
            return;
        }
        api_session_factor_proven(c, "hwk", registered_factor);
        return;
    }
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 201, db_value(r->res, 0, 0));
}

static void registration_finish(struct api_ctx *c)
{
    struct ceremony *m = c->state;
    struct webauthn_credential *cred = &m->cred;
    enum webauthn_status st = webauthn_registration_check(
        &rp, m->challenge, m->client_data, m->client_data_len, m->object, m->object_len, true,
        cred);
    if (st == WEBAUTHN_OK && (cred->id_len != m->raw_id_len ||
                              memcmp(cred->id, m->raw_id, m->raw_id_len) != 0))
        st = WEBAUTHN_MALFORMED;
    if (st != WEBAUTHN_OK) {
        ceremony_refuse(c, webauthn_status_name(st), "the passkey's answer does not hold");
        return;
    }
    char *cred_hex = malloc(2 * cred->id_len + 1);
    char *key_hex = malloc(2 * cred->public_key_len + 1);
    if (!cred_hex || !key_hex) {
        free(cred_hex);
        free(key_hex);
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    hex_of(cred->id, cred->id_len, cred_hex);
    hex_of(cred->public_key, cred->public_key_len, key_hex);
    char alg[16], count[16], aaguid[37];
    snprintf(alg, sizeof alg, "%d", cred->alg);
    snprintf(count, sizeof count, "%u", (unsigned)cred->sign_count);
    const unsigned char *g = cred->aaguid;
    snprintf(aaguid, sizeof aaguid,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
             g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
             g[15]);
    struct log_where w;
    const char *params[] = {c->who.user_id, m->label, cred_hex, key_hex, alg, count, aaguid,
                            m->transports, cred->backup_eligible ? "t" : "f",
                            cred->backed_up ? "t" : "f", cred->fmt, role_name(c->who.role),
                            c->req->request_id, api_peer_address(c, w.addr, sizeof w.addr),
                            log_route(c, &w)};
    api_query(c, "passkey_insert", 15, params, registered);
    free(cred_hex);
    free(key_hex);
}

static void passkey_register(struct api_ctx *c)
{
    if (may_add_passkey(c))
        ceremony_start(c, PURPOSE_REGISTER);
}

/* ---- assertions: sign-in and the second step ---------------------------------------------- */

static void counter_stored(struct api_ctx *c, const struct db_result *r);

/* The signature, the counter, the person: then the counter moves on (and a sign-in gets its
 * session) in one statement. */
static void assertion_finish(struct api_ctx *c, const struct db_result *r)
{
    struct ceremony *m = c->state;
    if (!m->factor_id[0]) {
        ceremony_refuse(c, "unknown_credential",
                        "this passkey is not registered to an account here");
        return;
    }
    /* The user handle, when the browser sends one, must name the passkey's own person. */
    unsigned char handle[16];
    uuid_bytes(m->owner.user_id, handle);
    if (m->user_handle_len >= 0 &&
        (m->user_handle_len != 16 || memcmp(m->user_handle, handle, 16) != 0)) {
        ceremony_refuse(c, "wrong_user_handle", "the passkey names another account");
        return;
    }
    const char *key_hex = db_value(r->res, 0, 3);
    size_t key_len = strlen(key_hex) / 2;
    unsigned char *key = malloc(key_len ? key_len : 1);
    if (!key) {
        api_reply_problem(c, PROBLEM_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < key_len; i++) {
        unsigned hi = (unsigned)(key_hex[2 * i] <= '9' ? key_hex[2 * i] - '0'
                                                         : key_hex[2 * i] - 'a' + 10);
        unsigned lo = (unsigned)(key_hex[2 * i + 1] <= '9' ? key_hex[2 * i + 1] - '0'
                                                             : key_hex[2 * i + 1] - 'a' + 10);
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    struct webauthn_assertion a;
    enum webauthn_status st = webauthn_assertion_check(
        &rp, m->challenge, m->client_data, m->client_data_len, m->object, m->object_len,
        m->signature, m->signature_len, key, key_len, atoi(db_value(r->res, 0, 4)),
        (uint32_t)strtoul(db_value(r->res, 0, 5), NULL, 10), true, &a);
    free(key);
    if (st != WEBAUTHN_OK) {
        ceremony_refuse(c, webauthn_status_name(st), "the passkey's answer does not hold");
        return;
    }
    m->new_count = a.sign_count;
    char count[16], addr[64], route[160], ttl[16], idle[16], hash[AUTH_TOKEN_HASH_LEN];
    snprintf(count, sizeof count, "%u", (unsigned)a.sign_count);
    snprintf(route, sizeof route, "%s %s", http_method_name(c->req->method), c->route->pattern);
    const char *params[12] = {m->factor_id, count, m->owner.user_id, role_name(m->owner.role),
                              c->req->request_id, api_peer_address(c, addr, sizeof addr), route,
                              purpose_names[m->purpose]};
    if (m->purpose == PURPOSE_FACTOR) {
        api_query(c, "passkey_used", 8, params, counter_stored);
        return;
    }
    if (auth_token_new(m->token) != 0) {
        api_reply_problem(c, PROBLEM_INTERNAL, "could not create a session token");
        return;
    }
    auth_token_hash(m->token, hash);
    snprintf(ttl, sizeof ttl, "%d", c->app->cfg->session_ttl_s);
    snprintf(idle, sizeof idle, "%d", c->app->cfg->session_idle_s);
    params[8] = hash;
    params[9] = ttl;
    params[10] = idle;
    params[11] = http_request_header(c->req, "User-Agent");
    api_query(c, "passkey_signin", 12, params, counter_stored);
}

static void factor_proven(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK || PQntuples(r->res) != 1) {
        api_reply_db_error(c, r);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "factor_at", db_value(r->res, 0, 0));
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 200, o);
}

/* The pages' sign-in answer and the API's, as POST /v1/sessions gives them. */
static void signed_in(struct api_ctx *c, const char *expires_at)
{
    struct ceremony *m = c->state;
    cJSON *o = cJSON_CreateObject();
    if (m->cookie) {
        api_session_cookies_set(c, m->token, c->app->cfg->session_ttl_s);
        cJSON_AddStringToObject(o, "token_type", "Cookie");
    } else {
        cJSON_AddStringToObject(o, "token", m->token);
        cJSON_AddStringToObject(o, "token_type", "Bearer");
    }
    cJSON_AddStringToObject(o, "expires_at", expires_at);
    cJSON *u = cJSON_AddObjectToObject(o, "user");
    cJSON_AddStringToObject(u, "id", m->owner.user_id);
    cJSON_AddStringToObject(u, "email", m->owner.email);
    cJSON_AddStringToObject(u, "role", role_name(m->owner.role));
    if (m->owner.provider_id[0])
        cJSON_AddStringToObject(u, "provider_id", m->owner.provider_id);
    else
        cJSON_AddNullToObject(u, "provider_id");
    if (m->owner.municipality[0])
        cJSON_AddStringToObject(u, "municipality", m->owner.municipality);
    cJSON_AddStringToObject(o, "second_factor", "none");
    http_reply_header(c->req, "Cache-Control", "no-store");
    api_reply_json(c, 201, o);
}

static void counter_stored(struct api_ctx *c, const struct db_result *r)
{
    struct ceremony *m = c->state;
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    /* Another use of this credential with the same or a higher counter got in first. */
    bool moved = m->purpose == PURPOSE_SIGNIN ? PQntuples(r->res) == 1
                                              : atoi(db_value(r->res, 0, 0)) == 1;
    if (!moved) {
        ceremony_refuse(c, webauthn_status_name(WEBAUTHN_COUNTER_REGRESSED),
                        "the passkey's answer does not hold");
        return;
    }
    if (m->purpose == PURPOSE_SIGNIN)
        signed_in(c, db_value(r->res, 0, 0));
    else
        api_session_factor_proven(c, "hwk", factor_proven);
}

static void signin(struct api_ctx *c) { ceremony_start(c, PURPOSE_SIGNIN); }
static void factor_verify(struct api_ctx *c) { ceremony_start(c, PURPOSE_FACTOR); }

/* ---- list and remove ---------------------------------------------------------------------- */

static void listed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    http_reply_header(c->req, "Cache-Control", "no-store");
    res_reply_body(c, 200, db_value(r->res, 0, 0));
}

static void passkey_list(struct api_ctx *c)
{
    const char *params[] = {c->who.user_id};
    api_query(c, "passkey_list", 1, params, listed);
}

static void removed(struct api_ctx *c, const struct db_result *r)
{
    if (r->status != DB_OK) {
        api_reply_db_error(c, r);
        return;
    }
    if (atoi(db_value(r->res, 0, 0)) == 0) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, MISSING);
        return;
    }
    api_reply_empty(c, 204);
}

static void passkey_remove(struct api_ctx *c)
{
    const char *id = res_id(c, MISSING);
    if (!id)
        return;
    session_cache_forget_user(c->app->sessions, c->who.user_id);
    struct log_where w;
    const char *params[] = {c->who.user_id, id, c->token_hash, role_name(c->who.role),
                            c->req->request_id, api_peer_address(c, w.addr, sizeof w.addr),
                            log_route(c, &w)};
    api_query(c, "passkey_delete", 7, params, removed);
}

static const struct api_endpoint ep_register_options = {register_options, false};
static const struct api_endpoint ep_register = {passkey_register, true};
static const struct api_endpoint ep_list = {passkey_list, false};
static const struct api_endpoint ep_remove = {passkey_remove, false};
static const struct api_endpoint ep_signin_options = {signin_options, false};
static const struct api_endpoint ep_signin = {signin, true};
static const struct api_endpoint ep_factor_options = {factor_options, false};
static const struct api_endpoint ep_factor = {factor_verify, true};

/* Setting up a first passkey and proving one are what a session owing its factor may do;
 * adding one to an account that has a factor asks for it first (may_add_passkey). */
static const struct route passkey_routes[] = {
    {HTTP_POST, "/v1/me/passkeys/options", &ep_register_options, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_POST, "/v1/me/passkeys", &ep_register, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_GET, "/v1/me/passkeys", &ep_list, ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_DELETE, "/v1/me/passkeys/{id}", &ep_remove, ROLE_ANY | ROUTE_STEP_UP},
    {HTTP_POST, "/v1/sessions/passkey/options", &ep_signin_options, 0},
    {HTTP_POST, "/v1/sessions/passkey", &ep_signin, 0},
    {HTTP_POST, "/v1/sessions/current/passkey/options", &ep_factor_options,
     ROLE_ANY | ROUTE_BEFORE_FACTOR},
    {HTTP_POST, "/v1/sessions/current/passkey", &ep_factor, ROLE_ANY | ROUTE_BEFORE_FACTOR},
};

ROUTE_GROUP(passkeys_group, passkey_routes, passkeys_prepare);
