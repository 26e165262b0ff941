/* digest: SHA-256 through OpenSSL's one-shot EVP_Digest, rendered as lowercase hex. */
#include "logeer/digest.h"

#include <openssl/evp.h>

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    unsigned int dlen = 0;
    EVP_Digest(data, len, d, &dlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}
