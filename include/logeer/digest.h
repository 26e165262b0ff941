/* digest: SHA-256 as lowercase hex, the one form the engine stores and compares (migration
 * checksums, request fingerprints for idempotency, token hashes). Pure. */
#ifndef LOGEER_DIGEST_H
#define LOGEER_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 65 /* 64 hex digits + NUL */

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_HEX_LEN]);

#endif
