/* oidc: discovery, code exchange and ID token verification for single sign-on. The cache of
 * discovery documents and key sets is the only shared state; one mutex guards it and is never
 * held across a network call. Runs on worker threads only; never on the loop. */
#include "logeer/oidc.h"

#include <cjose/cjose.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FETCH_MAX (256 * 1024) /* no discovery document, key set or token answer is larger */
#define FETCH_TIMEOUT_S 8L
#define CACHE_SLOTS 64
/* After a failed discovery, sign-ins at that issuer fail at once for this long: an issuer
 * that does not answer must not keep the worker threads (which also hash passwords) waiting
 * for its time-out at every attempt. */
#define DISCOVERY_RETRY_S 30

static const char *const failure_names[] = {
    [OIDC_OK] = "ok",
    [OIDC_FAIL_DISCOVERY] = "discovery",
    [OIDC_FAIL_TOKEN_EXCHANGE] = "token_exchange",
    [OIDC_FAIL_MALFORMED] = "malformed_token",
    [OIDC_FAIL_ALG] = "algorithm",
    [OIDC_FAIL_UNKNOWN_KEY] = "unknown_key",
    [OIDC_FAIL_SIGNATURE] = "signature",
    [OIDC_FAIL_ISSUER] = "issuer",
    [OIDC_FAIL_AUDIENCE] = "audience",
    [OIDC_FAIL_EXPIRED] = "expired",
    [OIDC_FAIL_ISSUED_AT] = "issued_at",
    [OIDC_FAIL_NONCE] = "nonce",
    [OIDC_FAIL_EMAIL] = "email",
};

const char *oidc_failure_name(enum oidc_failure f)
{
    return (size_t)f < sizeof failure_names / sizeof failure_names[0] ? failure_names[f] : "?";
}

/* ---- the cache ------------------------------------------------------------------------------ */

/* One issuer's discovery and keys. Keyed by issuer id and URL together, so a changed URL is a
 * miss rather than a stale hit. */
struct cached_issuer {
    char id[37];
    char issuer[501];
    struct oidc_endpoints ep;
    time_t discovered_at;       /* 0: slot unused */
    char *jwks;                 /* the key set's JSON text, or NULL before the first fetch */
    time_t jwks_fetched_at;
    time_t failed_at;           /* the last discovery that failed, while ep is unusable */
};

static struct cached_issuer cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static struct cached_issuer *slot_find(const char *id, const char *issuer)
{
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].discovered_at && strcmp(cache[i].id, id) == 0 &&
            strcmp(cache[i].issuer, issuer) == 0)
            return &cache[i];
    return NULL;
}

/* A free slot, or the one discovered longest ago (it is only a cache). */
static struct cached_issuer *slot_take(void)
{
    struct cached_issuer *oldest = &cache[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (!cache[i].discovered_at)
            return &cache[i];
        if (cache[i].discovered_at < oldest->discovered_at)
            oldest = &cache[i];
    }
    free(oldest->jwks);
    memset(oldest, 0, sizeof *oldest);
    return oldest;
}

void oidc_forget(const char *issuer_id)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].discovered_at && strcmp(cache[i].id, issuer_id) == 0) {
            free(cache[i].jwks);
            memset(&cache[i], 0, sizeof cache[i]);
        }
    pthread_mutex_unlock(&cache_lock);
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

struct fetch_buf {
    char *data;
    size_t len;
    bool too_big;
};

static size_t fetch_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct fetch_buf *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > FETCH_MAX) {
        b->too_big = true;
        return 0;
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* GET url, or POST form with optional extra header; the body (NUL-terminated) in *out for a
 * 200 answer. Redirects are not followed: an issuer's endpoints are named by its discovery
 * document, and a redirect could carry the code or secret elsewhere. */
static int fetch(const char *url, const char *form, const char *header, char **out, char *err,
                 size_t errlen)
{
    *out = NULL;
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "curl_easy_init failed");
        return -1;
    }
    struct fetch_buf b = {0};
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json");
    if (header)
        headers = curl_slist_append(headers, header);
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    if (form) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    }
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK || status != 200 || !b.data) {
        snprintf(err, errlen, "%s: %s", url,
                 b.too_big ? "answer too large"
                 : rc != CURLE_OK ? (curl_err[0] ? curl_err : curl_easy_strerror(rc))
                                  : status != 200 ? "status other than 200" : "empty answer");
        if (rc == CURLE_OK && status != 200 && errlen > 0) {
            size_t used = strlen(err);
            snprintf(err + used, errlen - used, " (%ld)", status);
        }
        free(b.data);
        return -1;
    }
    *out = b.data;
    return 0;
}

/* ---- discovery -------------------------------------------------------------------------------- */

static bool copy_url(const cJSON *doc, const char *name, char *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= OIDC_URL_MAX ||
        (strncmp(v->valuestring, "https://", 8) != 0 && strncmp(v->valuestring, "http://", 7) != 0))
        return false;
    strcpy(out, v->valuestring);
    return true;
}

static int discover_fetch(const char *issuer, struct oidc_endpoints *ep, char *err, size_t errlen)
{
    char url[OIDC_URL_MAX];
    size_t n = strlen(issuer);
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
             (int)(n && issuer[n - 1] == '/' ? n - 1 : n), issuer);
    char *text;
    if (fetch(url, NULL, NULL, &text, err, errlen) != 0)
        return -1;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    int rc = -1;
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(doc, "issuer");
    /* OpenID Connect Discovery 1.0, section 4.3: the document must name exactly the issuer
     * it was fetched for, or another tenant's keys could be taken for this one. */
    if (!cJSON_IsString(iss) || strcmp(iss->valuestring, issuer) != 0)
        snprintf(err, errlen, "discovery names issuer %s, not %s",
                 cJSON_IsString(iss) ? iss->valuestring : "(none)", issuer);
    else if (!copy_url(doc, "authorization_endpoint", ep->authorization) ||
             !copy_url(doc, "token_endpoint", ep->token) || !copy_url(doc, "jwks_uri", ep->jwks))
        snprintf(err, errlen, "discovery lacks an endpoint");
    else
        rc = 0;
    cJSON_Delete(doc);
    return rc;
}

int oidc_discover(const char *issuer_id, const char *issuer, struct oidc_endpoints *out,
                  char *err, size_t errlen)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&cache_lock);
    struct cached_issuer *s = slot_find(issuer_id, issuer);
    if (s && !s->failed_at && now - s->discovered_at < OIDC_DISCOVERY_TTL_S) {
        *out = s->ep;
        pthread_mutex_unlock(&cache_lock);
        return 0;
    }
    if (s && s->failed_at && now - s->failed_at < DISCOVERY_RETRY_S) {
        pthread_mutex_unlock(&cache_lock);
        snprintf(err, errlen, "discovery failed less than %d s ago", DISCOVERY_RETRY_S);
        return -1;
    }
    pthread_mutex_unlock(&cache_lock);
    int rc = discover_fetch(issuer, out, err, errlen);
    pthread_mutex_lock(&cache_lock);
    s = slot_find(issuer_id, issuer);
    if (!s) {
        s = slot_take();
        snprintf(s->id, sizeof s->id, "%s", issuer_id);
        snprintf(s->issuer, sizeof s->issuer, "%s", issuer);
    }
    s->discovered_at = now;
    s->failed_at = rc == 0 ? 0 : now;
    if (rc == 0)
        s->ep = *out;
    pthread_mutex_unlock(&cache_lock);
    return rc;
}

/* ---- keys ----------------------------------------------------------------------------------- */

/* The cached key set's text (a copy for the caller to free), fetching it when there is none
 * or when refresh is asked and the last fetch is old enough. NULL when none can be had. */
static char *jwks_get(const struct oidc_login *l, const struct oidc_endpoints *ep, bool refresh,
                      char *err, size_t errlen)
{
    time_t now = time(NULL);
    pthread_mutex_lock(&cache_lock);
    struct cached_issuer *s = slot_find(l->issuer_id, l->issuer);
    bool have = s && s->jwks;
    bool fetch_now = !have || (refresh && now - s->jwks_fetched_at >= OIDC_JWKS_REFRESH_S);
    /* A refresh the once-a-minute rule refuses gives back the same set; the caller then
     * still finds no key, which is the answer. */
    char *copy = fetch_now ? NULL : strdup(s->jwks);
    pthread_mutex_unlock(&cache_lock);
    if (!fetch_now)
        return copy;
    char *text;
    if (fetch(ep->jwks, NULL, NULL, &text, err, errlen) != 0)
        return NULL;
    pthread_mutex_lock(&cache_lock);
    s = slot_find(l->issuer_id, l->issuer);
    if (s) {
        free(s->jwks);
        s->jwks = strdup(text);
        s->jwks_fetched_at = now;
    }
    pthread_mutex_unlock(&cache_lock);
    return text;
}

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The key in set that may verify a token with alg and kid (kid NULL: the only key that fits),
 * imported for cjose; NULL when there is none. */
static cjose_jwk_t *jwk_pick(const char *set_text, const char *alg, const char *kid)
{
    cJSON *set = cJSON_Parse(set_text);
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive(set, "keys");
    const char *kty = strcmp(alg, "RS256") == 0 ? "RSA" : "EC";
    cJSON *found = NULL;
    int fitting = 0;
    const cJSON *k;
    cJSON_ArrayForEach(k, keys)
    {
        const char *k_kty = json_str(k, "kty"), *k_use = json_str(k, "use");
        const char *k_alg = json_str(k, "alg"), *k_kid = json_str(k, "kid");
        const char *crv = json_str(k, "crv");
        if (!k_kty || strcmp(k_kty, kty) != 0 || (k_use && strcmp(k_use, "sig") != 0) ||
            (k_alg && strcmp(k_alg, alg) != 0))
            continue;
        if (strcmp(kty, "EC") == 0 && (!crv || strcmp(crv, "P-256") != 0))
            continue;
        if (kid ? (k_kid && strcmp(k_kid, kid) == 0) : true) {
            found = (cJSON *)k;
            fitting++;
        }
    }
    cjose_jwk_t *jwk = NULL;
    if (found && fitting == 1) {
        char *text = cJSON_PrintUnformatted(found);
        cjose_err e;
        if (text)
            jwk = cjose_jwk_import(text, strlen(text), &e);
        cJSON_free(text);
    }
    cJSON_Delete(set);
    return jwk;
}

/* ---- the ID token ----------------------------------------------------------------------------- */

static enum oidc_failure fail(struct oidc_login *l, enum oidc_failure f, const char *fmt,
                              const char *arg)
{
    snprintf(l->error, sizeof l->error, fmt, arg ? arg : "");
    l->failure = f;
    return f;
}

static bool audience_ok(const cJSON *claims, const char *client_id)
{
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    const char *azp = json_str(claims, "azp");
    int n = 0;
    bool ours = false;
    if (cJSON_IsString(aud)) {
        n = 1;
        ours = strcmp(aud->valuestring, client_id) == 0;
    } else if (cJSON_IsArray(aud)) {
        const cJSON *a;
        cJSON_ArrayForEach(a, aud)
        {
            n++;
            ours = ours || (cJSON_IsString(a) && strcmp(a->valuestring, client_id) == 0);
        }
    }
    /* Core 1.0, 3.1.3.7: with several audiences azp should name us; whenever it is present it
     * must. */
    if (!ours || (azp && strcmp(azp, client_id) != 0) || (n > 1 && !azp))
        return false;
    return true;
}

static enum oidc_failure check_claims(struct oidc_login *l, const cJSON *claims)
{
    const char *iss = json_str(claims, "iss");
    if (!iss || strcmp(iss, l->issuer) != 0)
        return fail(l, OIDC_FAIL_ISSUER, "iss is %s", iss ? iss : "missing");
    if (!audience_ok(claims, l->client_id))
        return fail(l, OIDC_FAIL_AUDIENCE, "aud or azp is not this client%s", NULL);
    double now = (double)time(NULL);
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    if (!cJSON_IsNumber(exp) || exp->valuedouble + OIDC_CLOCK_SKEW_S < now)
        return fail(l, OIDC_FAIL_EXPIRED, "exp has passed or is missing%s", NULL);
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(claims, "iat");
    if (!cJSON_IsNumber(iat) || iat->valuedouble > now + OIDC_CLOCK_SKEW_S)
        return fail(l, OIDC_FAIL_ISSUED_AT, "iat is in the future or missing%s", NULL);
    const char *nonce = json_str(claims, "nonce");
    unsigned char digest[SHA256_DIGEST_LENGTH];
    if (nonce)
        SHA256((const unsigned char *)nonce, strlen(nonce), digest);
    if (!nonce || CRYPTO_memcmp(digest, l->nonce_sha256, sizeof digest) != 0)
        return fail(l, OIDC_FAIL_NONCE, "the nonce is not this sign-in's%s", NULL);
    const char *email = json_str(claims, "email");
    const cJSON *verified = cJSON_GetObjectItemCaseSensitive(claims, "email_verified");
    /* Issuers that omit email_verified (Entra ID) vouch for their own tenant's addresses;
     * one that says false does not, and allowed domains alone are not proof then. */
    if (!email || strlen(email) >= sizeof l->email || cJSON_IsFalse(verified) ||
        (verified && !cJSON_IsBool(verified) &&
         !(cJSON_IsString(verified) && strcmp(verified->valuestring, "true") == 0)))
        return fail(l, OIDC_FAIL_EMAIL, "no verified email claim%s", NULL);
    size_t i = 0;
    for (; email[i]; i++)
        l->email[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
    l->email[i] = '\0';
    const cJSON *amr = cJSON_GetObjectItemCaseSensitive(claims, "amr"), *a;
    cJSON_ArrayForEach(a, amr)
    {
        if (l->namr < OIDC_MAX_AMR && cJSON_IsString(a) &&
            strlen(a->valuestring) < sizeof l->amr[0])
            strcpy(l->amr[l->namr++], a->valuestring);
    }
    const char *acr = json_str(claims, "acr");
    if (acr)
        snprintf(l->acr, sizeof l->acr, "%s", acr);
    l->failure = OIDC_OK;
    return OIDC_OK;
}

/* Signature first, then claims: nothing in an unverified token is believed. */
static enum oidc_failure verify_id_token(struct oidc_login *l, const struct oidc_endpoints *ep,
                                         const char *token)
{
    cjose_err e;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &e);
    if (!jws)
        return fail(l, OIDC_FAIL_MALFORMED, "the ID token is not a compact JWS: %s", e.message);
    cjose_header_t *h = cjose_jws_get_protected(jws);
    const char *alg = h ? cjose_header_get(h, CJOSE_HDR_ALG, &e) : NULL;
    const char *kid = h ? cjose_header_get(h, CJOSE_HDR_KID, &e) : NULL;
    /* The allow-list keeps out "none" and the HMAC algorithms, with which a public key could
     * be misused as a shared secret. */
    if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0)) {
        fail(l, OIDC_FAIL_ALG, "alg %s is not allowed", alg ? alg : "(none)");
        cjose_jws_release(jws);
        return l->failure;
    }
    char *set = jwks_get(l, ep, false, l->error, sizeof l->error);
    cjose_jwk_t *jwk = set ? jwk_pick(set, alg, kid) : NULL;
    if (set && !jwk) {
        /* Issuers rotate keys: an unknown kid may be a new key, so the set is fetched again,
         * but at most once a minute, so forged kids cannot make us hammer the issuer. */
        free(set);
        set = jwks_get(l, ep, true, l->error, sizeof l->error);
        jwk = set ? jwk_pick(set, alg, kid) : NULL;
    }
    free(set);
    if (!jwk) {
        fail(l, OIDC_FAIL_UNKNOWN_KEY, "no key for kid %s in the issuer's key set",
             kid ? kid : "(none)");
        cjose_jws_release(jws);
        return l->failure;
    }
    bool ok = cjose_jws_verify(jws, jwk, &e);
    cjose_jwk_release(jwk);
    if (!ok) {
        fail(l, OIDC_FAIL_SIGNATURE, "the signature does not verify: %s", e.message);
        cjose_jws_release(jws);
        return l->failure;
    }
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    cJSON *claims = NULL;
    if (cjose_jws_get_plaintext(jws, &plain, &plain_len, &e))
        claims = cJSON_ParseWithLength((const char *)plain, plain_len);
    cjose_jws_release(jws); /* owns plain */
    if (!cJSON_IsObject(claims)) {
        cJSON_Delete(claims);
        return fail(l, OIDC_FAIL_MALFORMED, "the ID token's claims are not a JSON object%s",
                    NULL);
    }
    check_claims(l, claims);
    cJSON_Delete(claims);
    return l->failure;
}

/* ---- the exchange ------------------------------------------------------------------------------ */

/* RFC 6749, 2.3.1: id and secret are form-encoded before they are joined and base64-coded. */
static char *basic_header(CURL *curl, const char *id, const char *secret)
{
    char *eid = curl_easy_escape(curl, id, 0), *esecret = curl_easy_escape(curl, secret, 0);
    char *out = NULL;
    if (eid && esecret) {
        size_t n = strlen(eid) + strlen(esecret) + 2;
        char *joined = malloc(n);
        size_t b64 = 4 * ((n + 2) / 3) + 1;
        out = malloc(sizeof "Authorization: Basic " + b64);
        if (joined && out) {
            snprintf(joined, n, "%s:%s", eid, esecret);
            strcpy(out, "Authorization: Basic ");
            EVP_EncodeBlock((unsigned char *)out + strlen(out), (const unsigned char *)joined,
                            (int)strlen(joined));
            OPENSSL_cleanse(joined, strlen(joined));
        } else {
            free(out);
            out = NULL;
        }
        free(joined);
    }
    curl_free(eid);
    curl_free(esecret);
    return out;
}

static char *token_form(CURL *curl, const struct oidc_login *l)
{
    char *code = curl_easy_escape(curl, l->code, 0);
    char *redirect = curl_easy_escape(curl, l->redirect_uri, 0);
    char *verifier = curl_easy_escape(curl, l->verifier, 0);
    char *id = curl_easy_escape(curl, l->client_id, 0);
    char *secret = curl_easy_escape(curl, l->client_secret, 0);
    char *form = NULL;
    if (code && redirect && verifier && id && secret) {
        size_t n = strlen(code) + strlen(redirect) + strlen(verifier) + strlen(id) +
                   strlen(secret) + 160;
        form = malloc(n);
        if (form)
            snprintf(form, n,
                     "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s"
                     "%s%s%s%s",
                     code, redirect, verifier, l->secret_post ? "&client_id=" : "",
                     l->secret_post ? id : "", l->secret_post ? "&client_secret=" : "",
                     l->secret_post ? secret : "");
    }
    if (secret)
        OPENSSL_cleanse(secret, strlen(secret));
    curl_free(code);
    curl_free(redirect);
    curl_free(verifier);
    curl_free(id);
    curl_free(secret);
    return form;
}

void oidc_login_finish(struct oidc_login *l)
{
    struct oidc_endpoints ep;
    if (oidc_discover(l->issuer_id, l->issuer, &ep, l->error, sizeof l->error) != 0) {
        l->failure = OIDC_FAIL_DISCOVERY;
        return;
    }
    CURL *helper = curl_easy_init(); /* only for curl_easy_escape */
    char *form = helper ? token_form(helper, l) : NULL;
    char *header = helper && !l->secret_post ? basic_header(helper, l->client_id, l->client_secret)
                                             : NULL;
    curl_easy_cleanup(helper);
    char *answer = NULL;
    int rc = form && (l->secret_post || header)
                 ? fetch(ep.token, form, header, &answer, l->error, sizeof l->error)
                 : -1;
    if (form)
        OPENSSL_cleanse(form, strlen(form));
    free(form);
    if (header)
        OPENSSL_cleanse(header, strlen(header));
    free(header);
    if (rc != 0) {
        l->failure = OIDC_FAIL_TOKEN_EXCHANGE;
        return;
    }
    cJSON *tokens = cJSON_Parse(answer);
    free(answer);
    const char *id_token = json_str(tokens, "id_token");
    if (!id_token)
        fail(l, OIDC_FAIL_MALFORMED, "the token endpoint sent no id_token%s", NULL);
    else
        verify_id_token(l, &ep, id_token);
    cJSON_Delete(tokens);
}

void oidc_pkce_challenge(const char *verifier, char out[44])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), digest);
    char b64[48];
    EVP_EncodeBlock((unsigned char *)b64, digest, sizeof digest);
    /* base64 to base64url without padding (RFC 7636, appendix A). */
    size_t j = 0;
    for (size_t i = 0; b64[i] && b64[i] != '=' && j < 43; i++)
        out[j++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
    out[j] = '\0';
}
