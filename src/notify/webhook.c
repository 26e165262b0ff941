/* webhook: the Standard Webhooks mechanics (secrets, sealing, signatures, address rules, one
 * POST through libcurl's easy interface). Holds only the server key, written once at start-up
 * and read-only afterwards, so worker threads share it without locks. Knows no SQL and no
 * message store; never runs its blocking parts on the loop. */
#include "logeer/webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "logeer/log.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX "whsec_"

static unsigned char server_key[32];
static char server_key_id[WEBHOOK_KEY_ID_LEN];
static bool server_key_set;
/* The built-in key that sealed secrets before LOGEER_WEBHOOK_KEY was required. It only opens
 * such old rows (an upgrade loses no endpoint); nothing new is sealed with it, and rotating an
 * endpoint's secret re-seals it under the server key. */
static unsigned char legacy_key[32];

void webhook_key_init(const char *passphrase)
{
    SHA256((const unsigned char *)"logeer built-in webhook key", 27, legacy_key);
    if (!passphrase || !*passphrase) {
        server_key_set = false;
        server_key_id[0] = '\0';
        return;
    }
    server_key_set = true;
    SHA256((const unsigned char *)passphrase, strlen(passphrase), server_key);
    /* The id is a digest of the key, never the key: it only tells which key sealed a row. */
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(server_key, sizeof server_key, d);
    for (int i = 0; i < 8; i++)
        snprintf(server_key_id + 2 * i, 3, "%02x", d[i]);
}

bool webhook_key_present(void)
{
    return server_key_set;
}

const char *webhook_key_id(void)
{
    return server_key_id;
}

int webhook_secret_new(char out[WEBHOOK_SECRET_LEN])
{
    unsigned char raw[WEBHOOK_SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, PREFIX, sizeof PREFIX - 1);
    EVP_EncodeBlock((unsigned char *)out + sizeof PREFIX - 1, raw, sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

static int from_hex(const char *in, unsigned char *out, size_t max, size_t *n)
{
    size_t len = strlen(in);
    if (len % 2 || len / 2 > max)
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(in + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    *n = len / 2;
    return 0;
}

int webhook_secret_seal(const char *secret, char out[WEBHOOK_SEALED_HEX_MAX])
{
    size_t len = strlen(secret);
    unsigned char buf[NONCE_LEN + WEBHOOK_SECRET_LEN + TAG_LEN];
    if (!server_key_set || len >= WEBHOOK_SECRET_LEN || RAND_bytes(buf, NONCE_LEN) != 1)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, rc = -1;
    if (ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, server_key, buf) == 1 &&
        EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n, (const unsigned char *)secret, (int)len) == 1 &&
        EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + n + fin) == 1) {
        to_hex(buf, NONCE_LEN + (size_t)(n + fin) + TAG_LEN, out);
        rc = 0;
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int webhook_secret_open(const char *sealed_hex, const char *key_id, char out[WEBHOOK_SECRET_LEN])
{
    unsigned char buf[NONCE_LEN + WEBHOOK_SECRET_LEN + TAG_LEN];
    size_t n;
    const unsigned char *key;
    if (strcmp(key_id, "dev") == 0)
        key = legacy_key;
    else if (server_key_set && strcmp(key_id, server_key_id) == 0)
        key = server_key;
    else
        return -1;
    if (from_hex(sealed_hex, buf, sizeof buf, &n) != 0 || n < NONCE_LEN + TAG_LEN + 1)
        return -1;
    int clen = (int)(n - NONCE_LEN - TAG_LEN), len = 0, fin = 0, rc = -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_DecryptUpdate(ctx, (unsigned char *)out, &len, buf + NONCE_LEN, clen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + NONCE_LEN + clen) == 1 &&
        EVP_DecryptFinal_ex(ctx, (unsigned char *)out + len, &fin) == 1 &&
        len + fin < WEBHOOK_SECRET_LEN) {
        out[len + fin] = '\0';
        rc = 0;
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int webhook_sign(const char *secret, const char *id, long long timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_LEN])
{
    size_t plen = sizeof PREFIX - 1;
    if (strncmp(secret, PREFIX, plen) != 0)
        return -1;
    const char *b64 = secret + plen;
    size_t b64len = strlen(b64);
    unsigned char key[64];
    if (b64len == 0 || b64len % 4 || b64len / 4 * 3 > sizeof key)
        return -1;
    int klen = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)b64len);
    if (klen < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding's zero bytes; the key is the bytes without them. */
    if (b64len >= 1 && b64[b64len - 1] == '=')
        klen--;
    if (b64len >= 2 && b64[b64len - 2] == '=')
        klen--;
    char head[96];
    int hlen = snprintf(head, sizeof head, "%s.%lld.", id, timestamp);
    if (hlen < 0 || (size_t)hlen >= sizeof head)
        return -1;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t outl = 0;
    int rc = -1;
    if (ctx && EVP_MAC_init(ctx, key, (size_t)klen, params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)head, (size_t)hlen) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1 &&
        EVP_MAC_final(ctx, mac, &outl, sizeof mac) == 1) {
        mlen = (unsigned)outl;
        memcpy(out, "v1,", 3);
        EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)mlen);
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

static bool v4_public(uint32_t a)
{
    struct {
        uint32_t net, mask;
    } const blocked[] = {
        {0x00000000, 0xff000000}, /* 0/8 "this network" */
        {0x0a000000, 0xff000000}, /* 10/8 */
        {0x64400000, 0xffc00000}, /* 100.64/10 carrier-grade NAT */
        {0x7f000000, 0xff000000}, /* 127/8 loopback */
        {0xa9fe0000, 0xffff0000}, /* 169.254/16 link-local, cloud metadata */
        {0xac100000, 0xfff00000}, /* 172.16/12 */
        {0xc0000000, 0xffffff00}, /* 192.0.0/24 protocol assignments */
        {0xc0000200, 0xffffff00}, /* 192.0.2/24 documentation */
        {0xc0a80000, 0xffff0000}, /* 192.168/16 */
        {0xc6120000, 0xfffe0000}, /* 198.18/15 benchmarking */
        {0xc6336400, 0xffffff00}, /* 198.51.100/24 documentation */
        {0xcb007100, 0xffffff00}, /* 203.0.113/24 documentation */
        {0xe0000000, 0xe0000000}, /* 224/3 multicast, reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if ((a & blocked[i].mask) == blocked[i].net)
            return false;
    return true;
}

bool webhook_address_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return v4_public(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
    if (sa->sa_family != AF_INET6)
        return false;
    const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    static const unsigned char zero[16];
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
        return false; /* :: and ::1 */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, zero, 12) == 0) /* v4-mapped, v4-compatible */
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
    if ((b[0] & 0xfe) == 0xfc)                     /* fc00::/7 unique local */
        return false;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)     /* fe80::/10 link-local */
        return false;
    if (b[0] == 0xff)                              /* multicast */
        return false;
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
        return false;
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) /* NAT64: a v4 inside */
        return v4_public((uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
    return true;
}

/* The URL's scheme, host and port, through libcurl's own parser so that the check and the
 * request can never read the URL differently. */
struct url_parts {
    char scheme[8];
    char host[256];
    char port[8];
};

static const char *url_split(const char *url, struct url_parts *p)
{
    if (strlen(url) > 2000)
        return "must be at most 2000 characters";
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return "must be an absolute http or https URL without spaces";
    CURLU *u = curl_url();
    if (!u)
        return "cannot be read now";
    const char *problem = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        problem = "must be an absolute http or https URL";
    } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        problem = "must use http or https";
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        problem = "must not carry a user name or password";
    } else if (strlen(host) >= sizeof p->host || !*host) {
        problem = "must name a host";
    } else {
        snprintf(p->scheme, sizeof p->scheme, "%s", scheme);
        /* libcurl keeps the brackets of an IPv6 literal; getaddrinfo wants them gone. */
        size_t hl = strlen(host);
        if (host[0] == '[' && hl > 2)
            snprintf(p->host, sizeof p->host, "%.*s", (int)(hl - 2), host + 1);
        else
            snprintf(p->host, sizeof p->host, "%s", host);
        snprintf(p->port, sizeof p->port, "%s", port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_url_cleanup(u);
    return problem;
}

/* A name that is private by definition, whatever a resolver says today. */
static bool host_private_name(const char *host)
{
    size_t n = strlen(host);
    const char *suffixes[] = {"localhost", ".localhost", ".local", ".internal", NULL};
    if (strcasecmp(host, "localhost") == 0)
        return true;
    for (int i = 1; suffixes[i]; i++) {
        size_t s = strlen(suffixes[i]);
        if (n > s && strcasecmp(host + n - s, suffixes[i]) == 0)
            return true;
    }
    return false;
}

const char *webhook_url_problem(const char *url, bool allow_private)
{
    struct url_parts p;
    const char *problem = url_split(url, &p);
    if (problem || allow_private)
        return problem;
    if (host_private_name(p.host))
        return "must not point at this machine or a private network";
    /* A literal address is checked now; a name is resolved and checked at every delivery (a
     * lookup here would block the loop and could change before the first delivery anyway). */
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, p.host, &v4.sin_addr) == 1 &&
        !webhook_address_public((struct sockaddr *)&v4))
        return "must not point at this machine or a private network";
    if (inet_pton(AF_INET6, p.host, &v6.sin6_addr) == 1 &&
        !webhook_address_public((struct sockaddr *)&v6))
        return "must not point at this machine or a private network";
    return NULL;
}

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
    return size * n;
}

enum webhook_outcome webhook_post(const char *url, const char *id, long long timestamp,
                                  const char *signature, const char *body, bool allow_private,
                                  long timeout_s, int *status, char *err, size_t errlen)
{
    *status = 0;
    struct url_parts p;
    const char *problem = url_split(url, &p);
    if (problem) {
        snprintf(err, errlen, "URL %s", problem);
        return WEBHOOK_REFUSED;
    }
    if (!allow_private && host_private_name(p.host)) {
        snprintf(err, errlen, "URL points at a private name");
        return WEBHOOK_REFUSED;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(p.host, p.port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", p.host, gai_strerror(gai));
        return WEBHOOK_RETRY;
    }
    /* Every address must be allowed: a name with one public and one private address would
     * otherwise let the connection land on either. */
    char pinned[INET6_ADDRSTRLEN + 2] = "";
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        if (!allow_private && !webhook_address_public(a->ai_addr)) {
            freeaddrinfo(res);
            snprintf(err, errlen, "%s resolves to a loopback or private address", p.host);
            return WEBHOOK_REFUSED;
        }
        if (!pinned[0]) {
            char text[INET6_ADDRSTRLEN];
            const void *addr = a->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
            if (inet_ntop(a->ai_family, addr, text, sizeof text))
                snprintf(pinned, sizeof pinned, a->ai_family == AF_INET6 ? "[%s]" : "%s", text);
        }
    }
    freeaddrinfo(res);
    if (!pinned[0]) {
        snprintf(err, errlen, "%s has no usable address", p.host);
        return WEBHOOK_RETRY;
    }

    char resolve[sizeof p.host + sizeof p.port + sizeof pinned + 4];
    snprintf(resolve, sizeof resolve, "%s:%s:%s", p.host, p.port, pinned);
    char h_id[128], h_ts[64], h_sig[WEBHOOK_SIGNATURES_LEN + 32];
    snprintf(h_id, sizeof h_id, "webhook-id: %s", id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", timestamp);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s", signature);
    struct curl_slist *headers = NULL, *pins = NULL, *tmp;
    const char *lines[] = {"Content-Type: application/json", "User-Agent: logeerd-webhooks/1",
                           h_id, h_ts, h_sig, "Expect:"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        if (!(tmp = curl_slist_append(headers, lines[i])))
            break;
        headers = tmp;
    }
    pins = curl_slist_append(NULL, resolve);
    CURL *curl = curl_easy_init();
    enum webhook_outcome out = WEBHOOK_RETRY;
    if (!curl || !headers || !pins) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_RESOLVE, pins);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout_s < 5 ? timeout_s : 5L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
        goto done;
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    if (code >= 200 && code < 300)
        out = WEBHOOK_SENT;
    else
        snprintf(err, errlen, "the endpoint answered HTTP %ld", code);
done:
    curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    curl_slist_free_all(pins);
    return out;
}
