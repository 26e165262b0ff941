/* auth: password hashing, tokens and the role table. Parameters follow OWASP's password
 * storage cheat sheet for Argon2id; tokens are 256-bit random values of which only the
 * SHA-256 is stored. */
#include "logeer/auth.h"
#include "logeer/digest.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ARGON2_T_COST 2
#define ARGON2_M_COST_KIB 19456
#define ARGON2_PARALLELISM 1
#define ARGON2_SALT_LEN 16
#define ARGON2_HASH_BYTES 32

static const struct {
    unsigned bit;
    const char *name;
} roles[] = {
    {ROLE_CAREGIVER, "caregiver"}, {ROLE_PROVIDER, "provider"},     {ROLE_REFERRER, "referrer"},
    {ROLE_COORDINATOR, "coordinator"}, {ROLE_ADMIN, "admin"},
};

unsigned role_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (name && strcmp(name, roles[i].name) == 0)
            return roles[i].bit;
    return 0;
}

int auth_roles_parse(const char *list, unsigned *out)
{
    char copy[256];
    if (snprintf(copy, sizeof copy, "%s", list ? list : "") >= (int)sizeof copy)
        return -1;
    unsigned bits = 0;
    for (char *save = NULL, *s = strtok_r(copy, ", ", &save); s; s = strtok_r(NULL, ", ", &save)) {
        unsigned bit = role_from_name(s);
        if (!bit)
            return -1;
        bits |= bit;
    }
    *out = bits;
    return 0;
}

const char *role_name(unsigned role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (role == roles[i].bit)
            return roles[i].name;
    return NULL;
}

static const struct {
    unsigned bit;
    const char *name;
} scopes[] = {
    {SCOPE_CAPACITY_READ, "capacity:read"}, {SCOPE_CAPACITY_WRITE, "capacity:write"},
    {SCOPE_STAYS_READ, "stays:read"},       {SCOPE_STAYS_WRITE, "stays:write"},
};

unsigned scope_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
        if (name && strcmp(name, scopes[i].name) == 0)
            return scopes[i].bit;
    return 0;
}

const char *scope_name(unsigned scope)
{
    for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++)
        if (scope == scopes[i].bit)
            return scopes[i].name;
    return NULL;
}

int auth_password_hash(const char *password, char out[AUTH_HASH_LEN])
{
    unsigned char salt[ARGON2_SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    int rc = argon2id_hash_encoded(ARGON2_T_COST, ARGON2_M_COST_KIB, ARGON2_PARALLELISM,
                                   password, strlen(password), salt, sizeof salt,
                                   ARGON2_HASH_BYTES, out, AUTH_HASH_LEN);
    return rc == ARGON2_OK ? 0 : -1;
}

bool auth_password_verify(const char *encoded, const char *password)
{
    if (!encoded || strncmp(encoded, "$argon2id$", 10) != 0)
        return false;
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

static char dummy_hash[AUTH_HASH_LEN];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    char pw[AUTH_TOKEN_LEN];
    if (auth_token_new(pw) != 0 || auth_password_hash(pw, dummy_hash) != 0)
        dummy_hash[0] = '\0';
}

const char *auth_dummy_hash(void)
{
    pthread_once(&dummy_once, make_dummy_hash);
    return dummy_hash;
}

static void base64url(const unsigned char *in, size_t len, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
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

int auth_token_new(char out[AUTH_TOKEN_LEN])
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    base64url(raw, sizeof raw, out);
    return 0;
}

void auth_token_hash(const char *token, char out[AUTH_TOKEN_HASH_LEN])
{
    out[0] = '\\';
    out[1] = 'x';
    digest_sha256_hex(token, strlen(token), out + 2);
}

/* True for exactly AUTH_TOKEN_LEN - 1 base64url characters, up to len. */
static bool token_shaped(const char *t, size_t len)
{
    if (len != AUTH_TOKEN_LEN - 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

const char *auth_bearer_token(const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *t = authorization + 7;
    while (*t == ' ')
        t++;
    return token_shaped(t, strlen(t)) ? t : NULL;
}

const char *auth_bearer_api_key(const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *k = authorization + 7;
    while (*k == ' ')
        k++;
    size_t plen = strlen(AUTH_API_KEY_PREFIX);
    if (strncmp(k, AUTH_API_KEY_PREFIX, plen) != 0 || !token_shaped(k + plen, strlen(k + plen)))
        return NULL;
    return k;
}

bool auth_cookie_token(const char *cookie_header, const char *name, char out[AUTH_TOKEN_LEN])
{
    size_t nlen = strlen(name);
    for (const char *p = cookie_header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = len - nlen - 1;
            while (vlen && v[vlen - 1] == ' ')
                vlen--;
            if (!token_shaped(v, vlen))
                return false;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return true;
        }
        p += len;
    }
    return false;
}

/* The CSRF token is a MAC of a fixed label under the session token as key: anyone who can
 * compute it already holds the session, and it reveals nothing about the session token, so
 * it may live in a cookie that script reads. No server key is needed, so every process and
 * every restart computes the same token for the same session. */
void auth_csrf_token(const char *token, char out[AUTH_TOKEN_LEN])
{
    static const char label[] = "logeer csrf v1";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), token, (int)strlen(token), (const unsigned char *)label,
              sizeof label - 1, mac, &mac_len) ||
        mac_len != 32) {
        out[0] = '\0'; /* never equal to a header the client sends: the check fails closed */
        return;
    }
    base64url(mac, 32, out);
}

bool auth_csrf_ok(const char *token, const char *header)
{
    char want[AUTH_TOKEN_LEN];
    auth_csrf_token(token, want);
    if (!want[0] || !header || strlen(header) != strlen(want))
        return false;
    return CRYPTO_memcmp(want, header, strlen(want)) == 0;
}
