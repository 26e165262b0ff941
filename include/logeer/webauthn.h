/* webauthn: checks passkey registrations and assertions (W3C Web Authentication, Level 2) for
 * the relying party this server is. Pure CPU work: CBOR by libcbor, JSON by cJSON, signatures
 * by OpenSSL; it never does I/O, knows no SQL and no HTTP, and keeps no state. Challenges,
 * stored keys and counters belong to the caller (src/api/passkeys.c). */
#ifndef LOGEER_WEBAUTHN_H
#define LOGEER_WEBAUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* COSE algorithm numbers we verify (RFC 9053): ES256 is required of every authenticator we
 * accept, EdDSA (Ed25519) and RS256 are offered too. */
#define WEBAUTHN_ES256 (-7)
#define WEBAUTHN_EDDSA (-8)
#define WEBAUTHN_RS256 (-257)

#define WEBAUTHN_CHALLENGE_LEN 32       /* random bytes per ceremony */
#define WEBAUTHN_CREDENTIAL_ID_MAX 1023 /* the specification's bound */

/* Why a ceremony was refused; WEBAUTHN_OK when it was not. Each has a stable short name
 * (webauthn_status_name) for logs and problem details. */
enum webauthn_status {
    WEBAUTHN_OK = 0,
    WEBAUTHN_MALFORMED,          /* not parseable as what it claims to be */
    WEBAUTHN_WRONG_TYPE,         /* clientDataJSON.type is not the ceremony's */
    WEBAUTHN_WRONG_CHALLENGE,    /* not the challenge this server issued */
    WEBAUTHN_WRONG_ORIGIN,       /* another origin, or a cross-origin frame */
    WEBAUTHN_WRONG_RP,           /* rpIdHash is not SHA-256 of our rp id */
    WEBAUTHN_NO_PRESENCE,        /* the UP flag is not set */
    WEBAUTHN_NO_VERIFICATION,    /* UV was required and the flag is not set */
    WEBAUTHN_UNSUPPORTED_FORMAT, /* an attestation format other than none or packed */
    WEBAUTHN_UNSUPPORTED_KEY,    /* a key type, curve or algorithm we do not verify */
    WEBAUTHN_BAD_ATTESTATION,    /* a packed attestation whose signature does not hold */
    WEBAUTHN_BAD_SIGNATURE,      /* the assertion's signature does not hold */
    WEBAUTHN_COUNTER_REGRESSED,  /* signCount did not increase: a cloned authenticator */
};

const char *webauthn_status_name(enum webauthn_status s);

/* The relying party: rp_id is the host of LOGEER_PUBLIC_URL, origin its scheme://host[:port]. */
struct webauthn_rp {
    char id[256];
    char origin[300];
};

/* Splits a base URL ("https://logeer.example.nl/", "http://localhost:8080") into the rp id and
 * origin, both in lower case and the origin without a default port (as browsers send it); -1
 * when it is not an http(s) URL with a host. */
__attribute__((warn_unused_result))
int webauthn_rp_from_url(const char *url, struct webauthn_rp *rp);

/* base64url without padding, the encoding of every binary member in the browser's JSON.
 * Encoding writes a NUL-terminated string of at most 4 * ceil(len / 3) + 1 bytes. Decoding
 * refuses padding, other alphabets and output longer than cap: -1, else the length. */
void webauthn_b64url_encode(const unsigned char *in, size_t len, char *out);
long webauthn_b64url_decode(const char *in, unsigned char *out, size_t cap);

/* What a registration leaves to keep. public_key is DER SubjectPublicKeyInfo (malloc'd; free
 * with webauthn_credential_clear), ready for webauthn_assertion_check. */
struct webauthn_credential {
    unsigned char id[WEBAUTHN_CREDENTIAL_ID_MAX]; /* credential id as the authenticator made it */
    size_t id_len;
    unsigned char *public_key;
    size_t public_key_len;
    int alg;                     /* WEBAUTHN_ES256, _EDDSA or _RS256 */
    uint32_t sign_count;         /* 0 for authenticators that keep no counter */
    unsigned char aaguid[16];    /* the authenticator model; all zero under attestation none */
    bool user_verified;          /* UV flag */
    bool backup_eligible;        /* BE flag: a synced passkey */
    bool backed_up;              /* BS flag */
    char fmt[16];                /* "none" or "packed" */
};

void webauthn_credential_clear(struct webauthn_credential *cred);

/* The challenge a clientDataJSON carries, decoded into out (WEBAUTHN_CHALLENGE_LEN bytes), so
 * the caller can find and consume the matching stored challenge before the full check. -1
 * when the JSON or the challenge is malformed. */
__attribute__((warn_unused_result))
int webauthn_client_challenge(const unsigned char *client_data, size_t len,
                              unsigned char out[WEBAUTHN_CHALLENGE_LEN]);

/* Registration (navigator.credentials.create): checks clientDataJSON (type webauthn.create,
 * challenge, origin), the attestation object (format none, or packed whose signature is
 * checked; its certificate chain is not, since we ask for no attestation) and authData (rp id
 * hash, UP, UV when require_uv, an attested credential with a key we can verify). On
 * WEBAUTHN_OK, out holds the credential; otherwise out is cleared. */
__attribute__((warn_unused_result))
enum webauthn_status webauthn_registration_check(
    const struct webauthn_rp *rp, const unsigned char *challenge, const unsigned char *client_data,
    size_t client_data_len, const unsigned char *attestation, size_t attestation_len,
    bool require_uv, struct webauthn_credential *out);

/* What an assertion proved. */
struct webauthn_assertion {
    uint32_t sign_count;         /* the authenticator's counter now; store it */
    bool user_verified;
    bool backed_up;
};

/* Assertion (navigator.credentials.get): checks clientDataJSON (type webauthn.get, challenge,
 * origin), authData (rp id hash, UP, UV when require_uv), the signature over authData ||
 * SHA-256(clientDataJSON) with the stored key, and then the counter: when either the stored
 * or the new signCount is non-zero, the new one must be greater, else the authenticator was
 * cloned (WEBAUTHN_COUNTER_REGRESSED; the signature did hold). */
__attribute__((warn_unused_result))
enum webauthn_status webauthn_assertion_check(
    const struct webauthn_rp *rp, const unsigned char *challenge, const unsigned char *client_data,
    size_t client_data_len, const unsigned char *auth_data, size_t auth_data_len,
    const unsigned char *signature, size_t signature_len, const unsigned char *public_key,
    size_t public_key_len, int alg, uint32_t stored_sign_count, bool require_uv,
    struct webauthn_assertion *out);

#endif
