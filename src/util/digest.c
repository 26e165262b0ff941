/* digest: SHA-256 through OpenSSL's one-shot EVP_Digest, rendered as lowercase hex. */
#include "logeer/digest.h"

#include <openssl/evp.h>
#include <pthread.h>

/* Fetched once: handed the legacy EVP_sha256(), OpenSSL 3 looks the algorithm up in its
 * provider tables on every call, which cost more than hashing a session token itself. Kept
 * for the life of the process; any thread may hash. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void) { sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); }

void digest_sha256_hex(const void *data, size_t len, char out[DIGEST_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    unsigned int dlen = 0;
    pthread_once(&sha256_once, sha256_fetch);
    EVP_Digest(data, len, d, &dlen, sha256 ? sha256 : EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = '\0';
}
