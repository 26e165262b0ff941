/* totp: time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30 s steps) through
 * Debian's liboath, the otpauth:// URI authenticator apps read, its QR code as SVG through
 * libqrencode, and recovery codes. Pure CPU work and OpenSSL randomness: no I/O, no SQL, no
 * HTTP. Sealing the secret at rest is the caller's business (webhook.h's server key). */
#ifndef LOGEER_TOTP_H
#define LOGEER_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP_S 30
#define TOTP_DIGITS 6
#define TOTP_SECRET_BYTES 20        /* 160 bits, as RFC 4226 recommends for HMAC-SHA1 */
#define TOTP_SECRET_B32_LEN 33      /* base32 of 20 bytes is 32 characters, + NUL */
#define TOTP_URI_MAX 768
#define TOTP_DRIFT_STEPS 1          /* a code of the step before or after now still counts */

/* A fresh secret as unpadded base32 (RFC 4648), what apps and oathtool -b take. 0 or -1. */
__attribute__((warn_unused_result))
int totp_secret_new(char out[TOTP_SECRET_B32_LEN]);

/* otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30,
 * with issuer and account percent-encoded. 0, or -1 when it does not fit. */
__attribute__((warn_unused_result))
int totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
             size_t size);

/* The QR code of text as a standalone SVG document (malloc'd; free() it), black modules on a
 * white square with the quiet zone the standard asks for; NULL on failure. */
char *totp_qr_svg(const char *text);

/* Normalises what a person typed ("123 456", "123-456") to six digits in out; false when it
 * is not six digits after dropping spaces and dashes. */
bool totp_code_normalise(const char *typed, char out[TOTP_DIGITS + 1]);

/* What a code came to. */
enum totp_result {
    TOTP_ACCEPTED, /* matches a step within the drift that is newer than the last one used */
    TOTP_REPLAYED, /* matches only a step already used (or older): refused */
    TOTP_WRONG,    /* matches no step within the drift */
    TOTP_ERROR,    /* the secret is not valid base32 */
};

/* Checks a normalised code against the steps now/30 - drift .. now/30 + drift and accepts
 * only a step greater than last_step (-1 when none was used yet), so that a code is good once.
 * *step gets the accepted time step. */
enum totp_result totp_check(const char *secret_b32, const char *code, long long now,
                            long long last_step, unsigned drift, long long *step);

/* Recovery codes: 60 random bits each, shown as "xxxx-xxxx-xxxx" in an alphabet without
 * look-alikes; what is stored is the SHA-256 of the normalised form. */
#define TOTP_RECOVERY_COUNT 10
#define TOTP_RECOVERY_LEN 15        /* 12 characters, two dashes, NUL */
__attribute__((warn_unused_result))
int totp_recovery_new(char out[TOTP_RECOVERY_LEN]);
/* Lower-cases and drops spaces and dashes; false unless 12 characters of the alphabet remain. */
bool totp_recovery_normalise(const char *typed, char out[TOTP_RECOVERY_LEN]);

#endif
