/* oidc: the OpenID Connect relying party's mechanics for single sign-on: discovery, the
 * authorization-code exchange (with the PKCE verifier) at the token endpoint through libcurl,
 * and the ID token's verification with libcjose against the issuer's JWKS. Discovery and keys
 * are cached in memory per issuer. Knows no SQL and no HTTP server; everything here that
 * touches the network blocks, so it runs on worker threads only (workers.h), never on the
 * loop. */
#ifndef LOGEER_OIDC_H
#define LOGEER_OIDC_H

#include <stdbool.h>
#include <stddef.h>

#define OIDC_URL_MAX 1024
#define OIDC_CLOCK_SKEW_S 60      /* allowed for exp and iat */
#define OIDC_JWKS_REFRESH_S 60    /* an unknown kid refetches the keys at most this often */
#define OIDC_DISCOVERY_TTL_S 3600 /* a discovery document is reused this long */
#define OIDC_MAX_AMR 8

/* Why a sign-in was refused; oidc_failure_name gives the word the access log and the sign-in
 * page use. OIDC_OK is success. */
enum oidc_failure {
    OIDC_OK = 0,
    OIDC_FAIL_DISCOVERY,      /* the issuer's discovery document could not be used */
    OIDC_FAIL_TOKEN_EXCHANGE, /* the token endpoint refused the code or could not be reached */
    OIDC_FAIL_MALFORMED,      /* no ID token, or not a JWS */
    OIDC_FAIL_ALG,            /* an algorithm outside the allow-list (RS256, ES256) */
    OIDC_FAIL_UNKNOWN_KEY,    /* no key in the JWKS for its kid, even after a refresh */
    OIDC_FAIL_SIGNATURE,      /* the signature does not verify */
    OIDC_FAIL_ISSUER,         /* iss is not the registered issuer */
    OIDC_FAIL_AUDIENCE,       /* aud (or azp) is not our client */
    OIDC_FAIL_EXPIRED,        /* exp has passed (beyond the clock skew) */
    OIDC_FAIL_ISSUED_AT,      /* iat missing or in the future */
    OIDC_FAIL_NONCE,          /* the nonce is not the one this sign-in sent */
    OIDC_FAIL_EMAIL,          /* no email, or email_verified is false */
};
const char *oidc_failure_name(enum oidc_failure f);

/* Where an issuer's endpoints are, from its discovery document. */
struct oidc_endpoints {
    char authorization[OIDC_URL_MAX];
    char token[OIDC_URL_MAX];
    char jwks[OIDC_URL_MAX];
};

/* Fetches (or takes from the cache) issuer's discovery document, whose "issuer" must equal
 * issuer exactly. issuer_id keys the cache. 0, or -1 with err filled. Blocks. */
int oidc_discover(const char *issuer_id, const char *issuer, struct oidc_endpoints *out,
                  char *err, size_t errlen);

/* One callback's blocking part: its inputs, filled on the loop, and what it learnt. */
struct oidc_login {
    /* in */
    char issuer_id[37];
    char issuer[501];
    char client_id[256];
    char client_secret[64];
    bool secret_post;             /* client_secret_post instead of client_secret_basic */
    char code[1024];
    char redirect_uri[OIDC_URL_MAX];
    char verifier[64];            /* the PKCE code_verifier */
    unsigned char nonce_sha256[32];
    /* out */
    enum oidc_failure failure;
    char error[256];              /* a one-line particular for the operator's log */
    char email[256];              /* lower-cased */
    char amr[OIDC_MAX_AMR][16];
    int namr;
    char acr[201];
};

/* Exchanges the code and verifies the ID token: signature (alg RS256 or ES256, key from the
 * JWKS by kid), iss, aud and azp, exp and iat within OIDC_CLOCK_SKEW_S, nonce; then reads email
 * (refused when email_verified is false), amr and acr. Sets l->failure. Blocks. */
void oidc_login_finish(struct oidc_login *l);

/* Forgets an issuer's cached discovery and keys (after it was changed or removed). */
void oidc_forget(const char *issuer_id);

/* The PKCE S256 challenge of verifier: base64url(SHA-256(verifier)), 43 characters. */
void oidc_pkce_challenge(const char *verifier, char out[44]);

#endif
