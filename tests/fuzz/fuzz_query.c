/* fuzz_query: libFuzzer harness for query-string lookup and percent-decoding. Checks that a
 * decoded value always fits its buffer, is NUL-terminated, holds no NUL, and survives a
 * re-encode/decode round trip unchanged. Never does I/O. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parameter names the service's handlers actually ask for. */
static const char *const fuzz_names[] = {"check_in", "nights", "municipality", "care_profile",
                                         "funding", "kind", "flex_days", "radius_km", "from",
                                         "to", "limit", "offset", "status", "pool_id", "", NULL};

static void fuzz_assert(int ok)
{
    if (!ok)
        abort();
}

/* Percent-encodes every byte, decodes it again and expects the same bytes back. */
static void fuzz_round_trip(const char *value, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *enc = malloc(len * 3 + 1);
    char *dec = malloc(len + 1);
    fuzz_assert(enc && dec);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        enc[3 * i] = '%';
        enc[3 * i + 1] = hex[c >> 4];
        enc[3 * i + 2] = hex[c & 15];
    }
    long n = query_decode(enc, len * 3, dec, len + 1, true);
    fuzz_assert(n == (long)len && memcmp(dec, value, len) == 0 && dec[len] == '\0');
    free(enc);
    free(dec);
}

/* Decodes into an exact-size heap buffer, so a one-byte overrun is an ASan report. */
static void fuzz_decode(const char *in, size_t len, size_t size, bool plus)
{
    char *out = malloc(size ? size : 1);
    fuzz_assert(out != NULL);
    long n = query_decode(in, len, out, size, plus);
    if (n >= 0) {
        fuzz_assert((size_t)n < size && (size_t)n <= len && out[n] == '\0');
        /* An encoded NUL is refused; a raw one cannot come from the server's C strings, and
         * query_decode passes it through like any other byte. */
        if (!memchr(in, '\0', len)) {
            fuzz_assert(strlen(out) == (size_t)n);
            fuzz_round_trip(out, (size_t)n);
        }
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* Byte 0: the caller's buffer size; byte 1: '+' handling; the rest is the query. */
    size_t bufsize = data[0];
    bool plus = data[1] & 1;
    const char *raw = (const char *)data + 2;
    size_t len = size - 2;
    fuzz_decode(raw, len, bufsize, plus);
    fuzz_decode(raw, len, len + 1, plus);

    /* query_get reads a C string, as the server hands it the NUL-terminated query. */
    char *query = malloc(len + 1);
    char *buf = malloc(bufsize ? bufsize : 1);
    fuzz_assert(query && buf);
    memcpy(query, raw, len);
    query[len] = '\0';
    for (size_t i = 0; fuzz_names[i]; i++) {
        bool malformed = true;
        const char *v = query_get(query, fuzz_names[i], buf, bufsize, &malformed);
        if (v) {
            fuzz_assert(v == buf && !malformed && strlen(v) < bufsize);
        }
        (void)query_get(query, fuzz_names[i], buf, bufsize, NULL);
    }
    free(buf);
    free(query);
    return 0;
}
