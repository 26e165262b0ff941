/* webhook: Standard Webhooks for provider systems: secrets (whsec_ + base64), their sealing at
 * rest under the server key, signatures over id.timestamp.body, the address rules that keep
 * webhooks off loopback and private networks (SSRF), and one blocking POST. The POST and the
 * name resolution block, so they run on notify's worker threads, never on the loop. */
#ifndef LOGEER_WEBHOOK_H
#define LOGEER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;

#define WEBHOOK_SECRET_BYTES 24
#define WEBHOOK_SECRET_LEN 64      /* "whsec_" + base64 of 24 bytes + NUL, with room */
#define WEBHOOK_SIGNATURE_LEN 64   /* "v1," + base64 of 32 bytes + NUL, with room */
/* Two signatures, space-separated: the new secret's and, during a rotation's grace period,
 * the previous one's (Standard Webhooks lets a receiver accept any that verifies). */
#define WEBHOOK_SIGNATURES_LEN (2 * WEBHOOK_SIGNATURE_LEN)
#define WEBHOOK_SEALED_HEX_MAX 256 /* hex of nonce || ciphertext || tag, with room */
#define WEBHOOK_KEY_ID_LEN 17

/* The server key that seals secrets: SHA-256 of passphrase (LOGEER_WEBHOOK_KEY). Without one
 * (NULL or empty) nothing can be sealed: webhooks are off and serve refuses to run while
 * endpoints exist. Rows sealed by the former built-in key (id "dev") still open. Call once at
 * start-up, before any thread uses the key. */
void webhook_key_init(const char *passphrase);
/* True when LOGEER_WEBHOOK_KEY was given. */
bool webhook_key_present(void);
/* Which key seals new secrets (16 hex digits; "" without a key). */
const char *webhook_key_id(void);

/* A fresh secret, "whsec_" + base64 of 24 random bytes. 0 or -1. */
__attribute__((warn_unused_result))
int webhook_secret_new(char out[WEBHOOK_SECRET_LEN]);

/* AES-256-GCM under the server key; hex of nonce || ciphertext || tag. 0 or -1 (also
 * without a server key). */
__attribute__((warn_unused_result))
int webhook_secret_seal(const char *secret, char out[WEBHOOK_SEALED_HEX_MAX]);
/* The reverse; -1 when key_id is not the current key's or the seal does not verify. */
__attribute__((warn_unused_result))
int webhook_secret_open(const char *sealed_hex, const char *key_id, char out[WEBHOOK_SECRET_LEN]);

/* "v1," + base64(HMAC-SHA256(base64-decoded secret, id "." timestamp "." body)). 0 or -1 (a
 * secret that is not whsec_ + base64). */
__attribute__((warn_unused_result))
int webhook_sign(const char *secret, const char *id, long long timestamp, const char *body,
                 size_t body_len, char out[WEBHOOK_SIGNATURE_LEN]);

/* True for an address a webhook may reach: not loopback, private (RFC 1918, ULA), link-local,
 * carrier-grade NAT, unspecified, multicast, broadcast or documentation ranges. */
bool webhook_address_public(const struct sockaddr *sa);

/* Checks a URL at registration: http or https, a host, no user information, at most 2000
 * bytes; a literal address or a name such as "localhost" must be public unless allow_private.
 * NULL when acceptable, else why not (a static string). */
const char *webhook_url_problem(const char *url, bool allow_private);

/* What one delivery attempt came to. */
enum webhook_outcome {
    WEBHOOK_SENT,      /* 2xx */
    WEBHOOK_RETRY,     /* network error, time-out, 5xx, 429, other 4xx: try again later */
    WEBHOOK_REFUSED,   /* the URL resolves to a forbidden address: never sent */
};

/* POSTs body with the Standard Webhooks headers. Resolves the host itself, refuses the
 * attempt when any address is forbidden (unless allow_private), and pins the connection to
 * the address it checked, so a second lookup cannot swap in another (DNS rebinding). Follows
 * no redirects. Blocks for up to timeout_s: worker threads only. *status is the HTTP status
 * or 0; err gets a one-line reason for anything but WEBHOOK_SENT. */
enum webhook_outcome webhook_post(const char *url, const char *id, long long timestamp,
                                  const char *signature, const char *body, bool allow_private,
                                  long timeout_s, int *status, char *err, size_t errlen);

#endif
