/* webauthn: the relying party's checks of passkey registrations and assertions (W3C WebAuthn
 * Level 2, sections 7.1 and 7.2). Everything here is pure computation on bytes the client
 * sent, so every length and type is checked before it is trusted; it never does I/O and
 * never decides what a failure means for an account (the api layer does). */
#include "logeer/webauthn.h"

#include <cbor.h>
#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* authData flags (WebAuthn 6.1). */
#define FLAG_UP 0x01
#define FLAG_UV 0x04
#define FLAG_BE 0x08
#define FLAG_BS 0x10
#define FLAG_AT 0x40
#define FLAG_ED 0x80

#define AUTH_DATA_MIN 37   /* rpIdHash 32, flags 1, signCount 4 */
#define CBOR_MAX_DEPTH 16
#define RSA_MIN_BITS 2048

const char *webauthn_status_name(enum webauthn_status s)
{
    static const char *const names[] = {
        [WEBAUTHN_OK] = "ok",
        [WEBAUTHN_MALFORMED] = "malformed",
        [WEBAUTHN_WRONG_TYPE] = "wrong_type",
        [WEBAUTHN_WRONG_CHALLENGE] = "wrong_challenge",
        [WEBAUTHN_WRONG_ORIGIN] = "wrong_origin",
        [WEBAUTHN_WRONG_RP] = "wrong_rp",
        [WEBAUTHN_NO_PRESENCE] = "no_user_presence",
        [WEBAUTHN_NO_VERIFICATION] = "no_user_verification",
        [WEBAUTHN_UNSUPPORTED_FORMAT] = "unsupported_attestation_format",
        [WEBAUTHN_UNSUPPORTED_KEY] = "unsupported_key",
        [WEBAUTHN_BAD_ATTESTATION] = "bad_attestation",
        [WEBAUTHN_BAD_SIGNATURE] = "bad_signature",
        [WEBAUTHN_COUNTER_REGRESSED] = "counter_regressed",
    };
    if ((unsigned)s >= sizeof names / sizeof names[0] || !names[s])
        return "unknown";
    return names[s];
}

/* ---- relying party ------------------------------------------------------------------------ */

int webauthn_rp_from_url(const char *url, struct webauthn_rp *rp)
{
    const char *rest;
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return -1;
    size_t authority = strcspn(rest, "/?#");
    size_t host = strcspn(rest, ":/?#");
    /* An IPv6 literal or user info cannot be an rp id (it must be a domain). */
    if (host == 0 || host >= sizeof rp->id || memchr(rest, '@', authority) || rest[0] == '[')
        return -1;
    size_t scheme = (size_t)(rest - url);
    if (scheme + authority >= sizeof rp->origin)
        return -1;
    memcpy(rp->id, rest, host);
    rp->id[host] = '\0';
    for (char *p = rp->id; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    /* The origin as a browser serialises it: lower case, and without the scheme's default
     * port, or no answer would ever match it. */
    memcpy(rp->origin, url, scheme + authority);
    rp->origin[scheme + authority] = '\0';
    for (char *p = rp->origin; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *port = rp->origin + scheme + host;
    if ((scheme == 8 && strcmp(port, ":443") == 0) || (scheme == 7 && strcmp(port, ":80") == 0))
        rp->origin[scheme + host] = '\0';
    return 0;
}

/* ---- base64url ------------------------------------------------------------------------------ */

void webauthn_b64url_encode(const unsigned char *in, size_t len, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = ((acc << 8) | in[i]) & 0xffff;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

static int b64url_value(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-')
        return 62;
    if (ch == '_')
        return 63;
    return -1;
}

long webauthn_b64url_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t o = 0, n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; in[n]; n++) {
        int v = b64url_value(in[n]);
        if (v < 0)
            return -1;
        acc = ((acc << 6) | (unsigned)v) & 0xffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* One leftover character cannot encode a byte; leftover bits must be zero so that every
     * value has exactly one encoding. */
    if (n % 4 == 1 || (acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)o;
}

/* ---- bounded CBOR ---------------------------------------------------------------------------
 * libcbor allocates what a header claims before it reads the items, so a five-byte input can
 * claim an array of 2^32 members. Authenticators send CTAP2 canonical CBOR (definite lengths,
 * no tags), so we first walk the headers ourselves and accept only items whose every claimed
 * length fits in the bytes that remain. The walk also gives the length of the first item,
 * which authData needs: its COSE key is followed by extensions without a length of its own. */

static int cbor_head(const unsigned char *p, size_t len, size_t *pos, int *major,
                     uint64_t *arg)
{
    if (*pos >= len)
        return -1;
    unsigned char b = p[(*pos)++];
    *major = b >> 5;
    unsigned info = b & 31;
    if (info < 24) {
        *arg = info;
        return 0;
    }
    if (info > 27)
        return -1; /* indefinite lengths and reserved values */
    size_t n = (size_t)1 << (info - 24);
    if (len - *pos < n)
        return -1;
    *arg = 0;
    for (size_t i = 0; i < n; i++)
        *arg = (*arg << 8) | p[(*pos)++];
    return 0;
}

static int cbor_skip(const unsigned char *p, size_t len, size_t *pos, int depth)
{
    int major;
    uint64_t arg;
    if (depth > CBOR_MAX_DEPTH || cbor_head(p, len, pos, &major, &arg) != 0)
        return -1;
    switch (major) {
    case 0: case 1:
        return 0;
    case 2: case 3:
        if (arg > len - *pos)
            return -1;
        *pos += (size_t)arg;
        return 0;
    case 4: case 5: {
        /* Every member takes at least one byte: a bound that refuses huge claims early. */
        uint64_t items = major == 5 ? arg * 2 : arg;
        if (arg > len - *pos || items > len - *pos)
            return -1;
        for (uint64_t i = 0; i < items; i++)
            if (cbor_skip(p, len, pos, depth + 1) != 0)
                return -1;
        return 0;
    }
    case 7:
        /* Simple values and floats: their argument was the whole payload. */
        return 0;
    default:
        return -1; /* tags */
    }
}

/* Decodes the one CBOR item at the start of p (with nothing after it unless rest is given, in
 * which case *rest gets its length). NULL when malformed. */
static cbor_item_t *cbor_decode(const unsigned char *p, size_t len, size_t *rest)
{
    size_t end = 0;
    if (cbor_skip(p, len, &end, 0) != 0 || (!rest && end != len))
        return NULL;
    struct cbor_load_result res;
    cbor_item_t *item = cbor_load(p, end, &res);
    if (!item || res.error.code != CBOR_ERR_NONE || res.read != end) {
        if (item)
            cbor_decref(&item);
        return NULL;
    }
    if (rest)
        *rest = len - end;
    return item;
}

/* The value under a text key in a map, or NULL. */
static cbor_item_t *cbor_text_key(const cbor_item_t *map, const char *key)
{
    size_t n = cbor_map_size(map), klen = strlen(key);
    struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *k = pairs[i].key;
        if (cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == klen &&
            memcmp(cbor_string_handle(k), key, klen) == 0)
            return pairs[i].value;
    }
    return NULL;
}

/* The value under an integer key (COSE labels are small integers), or NULL. */
static cbor_item_t *cbor_int_key(const cbor_item_t *map, int key)
{
    size_t n = cbor_map_size(map);
    struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *k = pairs[i].key;
        uint64_t v;
        if (cbor_isa_uint(k) && key >= 0) {
            v = cbor_get_int(k);
            if (v == (uint64_t)key)
                return pairs[i].value;
        } else if (cbor_isa_negint(k) && key < 0) {
            v = cbor_get_int(k);
            if (v == (uint64_t)(-1 - (long long)key))
                return pairs[i].value;
        }
    }
    return NULL;
}

/* An integer item's value, when it fits an int. */
static bool cbor_small_int(const cbor_item_t *item, int *out)
{
    if (!item)
        return false;
    if (cbor_isa_uint(item) && cbor_get_int(item) <= 0x7fffffff) {
        *out = (int)cbor_get_int(item);
        return true;
    }
    if (cbor_isa_negint(item) && cbor_get_int(item) <= 0x7fffffff) {
        *out = -1 - (int)cbor_get_int(item);
        return true;
    }
    return false;
}

/* A definite byte string's bytes and length, or NULL. */
static const unsigned char *cbor_bytes(const cbor_item_t *item, size_t *len)
{
    if (!item || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item))
        return NULL;
    *len = cbor_bytestring_length(item);
    return cbor_bytestring_handle(item);
}

/* ---- COSE keys ----------------------------------------------------------------------------- */

static EVP_PKEY *cose_ec2(const cbor_item_t *key)
{
    int crv;
    size_t xl = 0, yl = 0;
    const unsigned char *x = cbor_bytes(cbor_int_key(key, -2), &xl);
    const unsigned char *y = cbor_bytes(cbor_int_key(key, -3), &yl);
    if (!cbor_small_int(cbor_int_key(key, -1), &crv) || crv != 1 || !x || !y || xl != 32 ||
        yl != 32)
        return NULL;
    unsigned char point[65];
    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    /* fromdata decodes the point, which refuses one that is not on the curve. */
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *cose_okp(const cbor_item_t *key)
{
    int crv;
    size_t xl = 0;
    const unsigned char *x = cbor_bytes(cbor_int_key(key, -2), &xl);
    if (!cbor_small_int(cbor_int_key(key, -1), &crv) || crv != 6 || !x || xl != 32)
        return NULL;
    return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xl);
}

static EVP_PKEY *cose_rsa(const cbor_item_t *key)
{
    size_t nl = 0, el = 0;
    const unsigned char *n = cbor_bytes(cbor_int_key(key, -1), &nl);
    const unsigned char *e = cbor_bytes(cbor_int_key(key, -2), &el);
    if (!n || !e || nl < RSA_MIN_BITS / 8 || nl > 1024 || el == 0 || el > 8)
        return NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bn && be && bld && BN_num_bits(bn) >= RSA_MIN_BITS &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
        EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

/* A COSE_Key (RFC 9052 7) as an OpenSSL key; the key type must agree with the algorithm. */
static enum webauthn_status cose_key(const cbor_item_t *key, EVP_PKEY **out, int *alg)
{
    int kty;
    *out = NULL;
    if (!cbor_isa_map(key) || !cbor_map_is_definite(key) ||
        !cbor_small_int(cbor_int_key(key, 1), &kty) || !cbor_small_int(cbor_int_key(key, 3), alg))
        return WEBAUTHN_MALFORMED;
    if (kty == 2 && *alg == WEBAUTHN_ES256)
        *out = cose_ec2(key);
    else if (kty == 1 && *alg == WEBAUTHN_EDDSA)
        *out = cose_okp(key);
    else if (kty == 3 && *alg == WEBAUTHN_RS256)
        *out = cose_rsa(key);
    return *out ? WEBAUTHN_OK : WEBAUTHN_UNSUPPORTED_KEY;
}

/* Verifies sig over the concatenation a || b with pkey under alg. ES256 signatures are DER
 * (WebAuthn 6.5.6), which OpenSSL reads as they are. */
static bool signature_ok(EVP_PKEY *pkey, int alg, const unsigned char *a, size_t alen,
                         const unsigned char *b, size_t blen, const unsigned char *sig,
                         size_t siglen)
{
    int id = EVP_PKEY_get_base_id(pkey);
    if ((alg == WEBAUTHN_ES256 && id != EVP_PKEY_EC) ||
        (alg == WEBAUTHN_EDDSA && id != EVP_PKEY_ED25519) ||
        (alg == WEBAUTHN_RS256 && id != EVP_PKEY_RSA) ||
        (alg != WEBAUTHN_ES256 && alg != WEBAUTHN_EDDSA && alg != WEBAUTHN_RS256))
        return false;
    /* Ed25519 signs the message itself, in one pass; the others hash it with SHA-256. */
    unsigned char *msg = malloc(alen + blen);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = false;
    if (msg && md) {
        memcpy(msg, a, alen);
        memcpy(msg + alen, b, blen);
        const char *digest = alg == WEBAUTHN_EDDSA ? NULL : "SHA256";
        ok = EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, pkey, NULL) == 1 &&
             EVP_DigestVerify(md, sig, siglen, msg, alen + blen) == 1;
    }
    EVP_MD_CTX_free(md);
    free(msg);
    return ok;
}

/* ---- clientDataJSON ------------------------------------------------------------------------- */

/* Parses clientDataJSON (UTF-8 JSON, WebAuthn 5.8.1); NULL when malformed. */
static cJSON *client_data_parse(const unsigned char *cd, size_t len)
{
    if (len == 0 || len > 8192)
        return NULL;
    cJSON *root = cJSON_ParseWithLength((const char *)cd, len);
    if (root && !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static int challenge_of(const cJSON *root, unsigned char out[WEBAUTHN_CHALLENGE_LEN])
{
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "challenge");
    unsigned char buf[WEBAUTHN_CHALLENGE_LEN + 1];
    if (!cJSON_IsString(ch) || webauthn_b64url_decode(ch->valuestring, buf, sizeof buf) !=
                                   WEBAUTHN_CHALLENGE_LEN)
        return -1;
    memcpy(out, buf, WEBAUTHN_CHALLENGE_LEN);
    return 0;
}

int webauthn_client_challenge(const unsigned char *client_data, size_t len,
                              unsigned char out[WEBAUTHN_CHALLENGE_LEN])
{
    cJSON *root = client_data_parse(client_data, len);
    int rc = root ? challenge_of(root, out) : -1;
    cJSON_Delete(root);
    return rc;
}

/* WebAuthn 7.1 steps 7-10 and 7.2 steps 11-14: type, challenge, origin, no cross-origin. */
static enum webauthn_status client_data_check(const struct webauthn_rp *rp, const char *type,
                                              const unsigned char *challenge,
                                              const unsigned char *cd, size_t len)
{
    cJSON *root = client_data_parse(cd, len);
    if (!root)
        return WEBAUTHN_MALFORMED;
    enum webauthn_status st = WEBAUTHN_OK;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *origin = cJSON_GetObjectItemCaseSensitive(root, "origin");
    const cJSON *cross = cJSON_GetObjectItemCaseSensitive(root, "crossOrigin");
    unsigned char got[WEBAUTHN_CHALLENGE_LEN];
    if (!cJSON_IsString(t) || !cJSON_IsString(origin))
        st = WEBAUTHN_MALFORMED;
    else if (strcmp(t->valuestring, type) != 0)
        st = WEBAUTHN_WRONG_TYPE;
    else if (challenge_of(root, got) != 0 ||
             CRYPTO_memcmp(got, challenge, WEBAUTHN_CHALLENGE_LEN) != 0)
        st = WEBAUTHN_WRONG_CHALLENGE;
    else if (strcmp(origin->valuestring, rp->origin) != 0 || cJSON_IsTrue(cross))
        st = WEBAUTHN_WRONG_ORIGIN;
    cJSON_Delete(root);
    return st;
}

/* ---- authenticator data -------------------------------------------------------------------- */

struct auth_data {
    unsigned flags;
    uint32_t sign_count;
    const unsigned char *aaguid;  /* with AT: 16 bytes */
    const unsigned char *cred_id; /* with AT */
    size_t cred_id_len;
    cbor_item_t *cose;            /* with AT: the credential's key; the caller decrefs */
};

/* WebAuthn 6.1: the fixed part, then with AT the attested credential, then with ED the
 * extensions (a CBOR map) and nothing after them. */
static enum webauthn_status auth_data_parse(const struct webauthn_rp *rp, const unsigned char *p,
                                            size_t len, bool want_credential,
                                            struct auth_data *ad)
{
    memset(ad, 0, sizeof *ad);
    if (len < AUTH_DATA_MIN)
        return WEBAUTHN_MALFORMED;
    ad->flags = p[32];
    ad->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 | p[36];
    size_t pos = AUTH_DATA_MIN;
    if (ad->flags & FLAG_AT) {
        if (len - pos < 18)
            return WEBAUTHN_MALFORMED;
        ad->aaguid = p + pos;
        size_t idlen = (size_t)p[pos + 16] << 8 | p[pos + 17];
        pos += 18;
        if (idlen == 0 || idlen > WEBAUTHN_CREDENTIAL_ID_MAX || len - pos < idlen)
            return WEBAUTHN_MALFORMED;
        ad->cred_id = p + pos;
        ad->cred_id_len = idlen;
        pos += idlen;
        size_t rest;
        ad->cose = cbor_decode(p + pos, len - pos, &rest);
        if (!ad->cose)
            return WEBAUTHN_MALFORMED;
        pos = len - rest;
    } else if (want_credential) {
        return WEBAUTHN_MALFORMED;
    }
    if (ad->flags & FLAG_ED) {
        cbor_item_t *ext = cbor_decode(p + pos, len - pos, NULL);
        bool ok = ext && cbor_isa_map(ext);
        if (ext)
            cbor_decref(&ext);
        if (!ok)
            return WEBAUTHN_MALFORMED;
    } else if (pos != len) {
        return WEBAUTHN_MALFORMED;
    }
    unsigned char rp_hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)rp->id, strlen(rp->id), rp_hash);
    if (CRYPTO_memcmp(p, rp_hash, sizeof rp_hash) != 0)
        return WEBAUTHN_WRONG_RP;
    return WEBAUTHN_OK;
}

static void auth_data_clear(struct auth_data *ad)
{
    if (ad->cose)
        cbor_decref(&ad->cose);
}

static enum webauthn_status flags_check(unsigned flags, bool require_uv)
{
    if (!(flags & FLAG_UP))
        return WEBAUTHN_NO_PRESENCE;
    if (require_uv && !(flags & FLAG_UV))
        return WEBAUTHN_NO_VERIFICATION;
    return WEBAUTHN_OK;
}

/* ---- registration --------------------------------------------------------------------------- */

void webauthn_credential_clear(struct webauthn_credential *cred)
{
    OPENSSL_free(cred->public_key);
    memset(cred, 0, sizeof *cred);
}

/* The attestation statement (WebAuthn 8.2 packed, 8.7 none). We ask for no attestation, so
 * a packed statement's certificate chain is not judged; its signature must still hold, with
 * the certificate's key (full attestation) or the credential's own (self attestation). */
static enum webauthn_status attestation_check(const char *fmt, const cbor_item_t *stmt,
                                              EVP_PKEY *cred_key, int cred_alg,
                                              const unsigned char *auth_data, size_t ad_len,
                                              const unsigned char cd_hash[32])
{
    if (!cbor_isa_map(stmt))
        return WEBAUTHN_MALFORMED;
    if (strcmp(fmt, "none") == 0)
        return cbor_map_size(stmt) == 0 ? WEBAUTHN_OK : WEBAUTHN_MALFORMED;
    if (strcmp(fmt, "packed") != 0)
        return WEBAUTHN_UNSUPPORTED_FORMAT;
    int alg;
    size_t siglen;
    const unsigned char *sig = cbor_bytes(cbor_text_key(stmt, "sig"), &siglen);
    if (!cbor_small_int(cbor_text_key(stmt, "alg"), &alg) || !sig)
        return WEBAUTHN_MALFORMED;
    cbor_item_t *x5c = cbor_text_key(stmt, "x5c");
    if (!x5c) {
        if (alg != cred_alg)
            return WEBAUTHN_BAD_ATTESTATION;
        return signature_ok(cred_key, alg, auth_data, ad_len, cd_hash, 32, sig, siglen)
                   ? WEBAUTHN_OK
                   : WEBAUTHN_BAD_ATTESTATION;
    }
    size_t certlen;
    const unsigned char *der = NULL;
    if (cbor_isa_array(x5c) && cbor_array_size(x5c) >= 1)
        der = cbor_bytes(cbor_array_handle(x5c)[0], &certlen);
    if (!der || certlen > 8192)
        return WEBAUTHN_MALFORMED;
    X509 *cert = d2i_X509(NULL, &der, (long)certlen);
    if (!cert)
        return WEBAUTHN_MALFORMED;
    EVP_PKEY *att_key = X509_get0_pubkey(cert);
    bool ok = att_key && signature_ok(att_key, alg, auth_data, ad_len, cd_hash, 32, sig, siglen);
    X509_free(cert);
    return ok ? WEBAUTHN_OK : WEBAUTHN_BAD_ATTESTATION;
}

/* Fills out from a parsed, checked credential: its id, key as DER, flags and counter. */
static enum webauthn_status credential_fill(const struct auth_data *ad, EVP_PKEY *pkey, int alg,
                                            const char *fmt, struct webauthn_credential *out)
{
    memcpy(out->id, ad->cred_id, ad->cred_id_len);
    out->id_len = ad->cred_id_len;
    int der_len = i2d_PUBKEY(pkey, &out->public_key);
    if (der_len <= 0) {
        out->public_key = NULL;
        return WEBAUTHN_UNSUPPORTED_KEY;
    }
    out->public_key_len = (size_t)der_len;
    out->alg = alg;
    out->sign_count = ad->sign_count;
    memcpy(out->aaguid, ad->aaguid, 16);
    out->user_verified = ad->flags & FLAG_UV;
    out->backup_eligible = ad->flags & FLAG_BE;
    out->backed_up = ad->flags & FLAG_BS;
    snprintf(out->fmt, sizeof out->fmt, "%s", fmt);
    return WEBAUTHN_OK;
}

enum webauthn_status webauthn_registration_check(
    const struct webauthn_rp *rp, const unsigned char *challenge, const unsigned char *client_data,
    size_t client_data_len, const unsigned char *attestation, size_t attestation_len,
    bool require_uv, struct webauthn_credential *out)
{
    memset(out, 0, sizeof *out);
    enum webauthn_status st =
        client_data_check(rp, "webauthn.create", challenge, client_data, client_data_len);
    if (st != WEBAUTHN_OK)
        return st;
    cbor_item_t *att = cbor_decode(attestation, attestation_len, NULL);
    if (!att)
        return WEBAUTHN_MALFORMED;
    struct auth_data ad = {0};
    EVP_PKEY *pkey = NULL;
    char fmt[16] = "";
    size_t ad_len = 0;
    const cbor_item_t *fmt_item = cbor_isa_map(att) ? cbor_text_key(att, "fmt") : NULL;
    const cbor_item_t *stmt = cbor_isa_map(att) ? cbor_text_key(att, "attStmt") : NULL;
    const unsigned char *auth_data =
        cbor_isa_map(att) ? cbor_bytes(cbor_text_key(att, "authData"), &ad_len) : NULL;
    if (!fmt_item || !cbor_isa_string(fmt_item) || !cbor_string_is_definite(fmt_item) ||
        cbor_string_length(fmt_item) >= sizeof fmt || !stmt || !auth_data) {
        st = WEBAUTHN_MALFORMED;
        goto done;
    }
    memcpy(fmt, cbor_string_handle(fmt_item), cbor_string_length(fmt_item));
    if (strlen(fmt) != cbor_string_length(fmt_item)) {
        st = WEBAUTHN_MALFORMED;
        goto done;
    }
    if ((st = auth_data_parse(rp, auth_data, ad_len, true, &ad)) != WEBAUTHN_OK ||
        (st = flags_check(ad.flags, require_uv)) != WEBAUTHN_OK)
        goto done;
    int alg = 0;
    if ((st = cose_key(ad.cose, &pkey, &alg)) != WEBAUTHN_OK)
        goto done;
    unsigned char cd_hash[SHA256_DIGEST_LENGTH];
    SHA256(client_data, client_data_len, cd_hash);
    if ((st = attestation_check(fmt, stmt, pkey, alg, auth_data, ad_len, cd_hash)) !=
        WEBAUTHN_OK)
        goto done;
    st = credential_fill(&ad, pkey, alg, fmt, out);
done:
    EVP_PKEY_free(pkey);
    auth_data_clear(&ad);
    cbor_decref(&att);
    if (st != WEBAUTHN_OK)
        webauthn_credential_clear(out);
    return st;
}

/* ---- assertion ------------------------------------------------------------------------------ */

enum webauthn_status webauthn_assertion_check(
    const struct webauthn_rp *rp, const unsigned char *challenge, const unsigned char *client_data,
    size_t client_data_len, const unsigned char *auth_data, size_t auth_data_len,
    const unsigned char *signature, size_t signature_len, const unsigned char *public_key,
    size_t public_key_len, int alg, uint32_t stored_sign_count, bool require_uv,
    struct webauthn_assertion *out)
{
    memset(out, 0, sizeof *out);
    enum webauthn_status st =
        client_data_check(rp, "webauthn.get", challenge, client_data, client_data_len);
    if (st != WEBAUTHN_OK)
        return st;
    struct auth_data ad;
    st = auth_data_parse(rp, auth_data, auth_data_len, false, &ad);
    auth_data_clear(&ad);
    if (st != WEBAUTHN_OK || (st = flags_check(ad.flags, require_uv)) != WEBAUTHN_OK)
        return st;
    const unsigned char *der = public_key;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &der, (long)public_key_len);
    if (!pkey)
        return WEBAUTHN_UNSUPPORTED_KEY;
    unsigned char cd_hash[SHA256_DIGEST_LENGTH];
    SHA256(client_data, client_data_len, cd_hash);
    bool ok = signature_ok(pkey, alg, auth_data, auth_data_len, cd_hash, sizeof cd_hash,
                           signature, signature_len);
    EVP_PKEY_free(pkey);
    if (!ok)
        return WEBAUTHN_BAD_SIGNATURE;
    /* WebAuthn 7.2 step 21: a counter that does not move forward means two authenticators
     * share one key; authenticators that keep no counter send 0 every time. */
    if ((ad.sign_count != 0 || stored_sign_count != 0) && ad.sign_count <= stored_sign_count)
        return WEBAUTHN_COUNTER_REGRESSED;
    out->sign_count = ad.sign_count;
    out->user_verified = ad.flags & FLAG_UV;
    out->backed_up = ad.flags & FLAG_BS;
    return WEBAUTHN_OK;
}
