/* totp: RFC 6238 codes through liboath, otpauth:// URIs, QR codes as SVG through libqrencode
 * and recovery codes. Pure CPU work: no I/O, no SQL, and never a secret in a log line. */
#include "logeer/totp.h"

#include <liboath/oath.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* liboath keeps global state that oath_init sets up once per process. */
static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static bool oath_ready;

static void oath_start(void) { oath_ready = oath_init() == OATH_OK; }

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* RFC 4648 base32 without padding; out must hold 8 * ceil(n / 5) + 1 bytes. */
static void base32_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    unsigned buffer = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        buffer = (buffer << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = B32[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = B32[(buffer << (5 - bits)) & 31];
    out[o] = '\0';
}

int totp_secret_new(char out[TOTP_SECRET_B32_LEN])
{
    unsigned char raw[TOTP_SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    base32_encode(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

/* RFC 3986 unreserved characters pass; everything else becomes %XX. */
static int percent_encode(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
                     *p == '~';
        if (o + (plain ? 1 : 3) >= size)
            return -1;
        if (plain)
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, size - o, "%%%02X", *p);
    }
    out[o] = '\0';
    return 0;
}

int totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
             size_t size)
{
    char is[128], ac[3 * 256];
    if (percent_encode(issuer, is, sizeof is) != 0 || percent_encode(account, ac, sizeof ac) != 0)
        return -1;
    int n = snprintf(out, size,
                     "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=%d&period=%d",
                     is, ac, secret_b32, is, TOTP_DIGITS, TOTP_STEP_S);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Four modules of white around the code: the quiet zone readers need (ISO/IEC 18004). */
#define QR_QUIET 4

char *totp_qr_svg(const char *text)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return NULL;
    int w = qr->width, side = w + 2 * QR_QUIET;
    /* Each dark module is at most "M123 123h1v1h-1z" (17 bytes); the frame is under 400. */
    size_t size = (size_t)w * (size_t)w * 18 + 512;
    char *svg = malloc(size);
    if (!svg) {
        QRcode_free(qr);
        return NULL;
    }
    size_t o = (size_t)snprintf(svg, size,
                                "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                                "shape-rendering=\"crispEdges\">"
                                "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
                                "<path fill=\"#000\" d=\"",
                                side, side, side, side);
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (qr->data[y * w + x] & 1)
                o += (size_t)snprintf(svg + o, size - o, "M%d %dh1v1h-1z", x + QR_QUIET,
                                      y + QR_QUIET);
    snprintf(svg + o, size - o, "\"/></svg>");
    QRcode_free(qr);
    return svg;
}

bool totp_code_normalise(const char *typed, char out[TOTP_DIGITS + 1])
{
    int n = 0;
    for (const char *p = typed; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (*p < '0' || *p > '9' || n == TOTP_DIGITS)
            return false;
        out[n++] = *p;
    }
    out[n] = '\0';
    return n == TOTP_DIGITS;
}

enum totp_result totp_check(const char *secret_b32, const char *code, long long now,
                            long long last_step, unsigned drift, long long *step)
{
    pthread_once(&oath_once, oath_start);
    char *secret = NULL;
    size_t secret_len = 0;
    if (!oath_ready ||
        oath_base32_decode(secret_b32, strlen(secret_b32), &secret, &secret_len) != OATH_OK)
        return TOTP_ERROR;
    enum totp_result result = TOTP_WRONG;
    long long current = now / TOTP_STEP_S;
    /* Every step in the window is computed and compared in full, so the time taken does not
     * tell which step (if any) matched. */
    for (long long s = current - (long long)drift; s <= current + (long long)drift; s++) {
        char expected[TOTP_DIGITS + 1];
        if (s < 0 || oath_totp_generate2(secret, secret_len, (time_t)(s * TOTP_STEP_S),
                                         TOTP_STEP_S, 0, TOTP_DIGITS, 0, expected) != OATH_OK)
            continue;
        if (CRYPTO_memcmp(expected, code, TOTP_DIGITS + 1) != 0)
            continue;
        if (s > last_step) {
            if (result != TOTP_ACCEPTED) {
                result = TOTP_ACCEPTED;
                *step = s;
            }
        } else if (result == TOTP_WRONG) {
            result = TOTP_REPLAYED;
        }
    }
    OPENSSL_cleanse(secret, secret_len);
    free(secret);
    return result;
}

/* Crockford's base32: no i, l, o or u, so a code read from paper cannot be mistyped as
 * another letter. */
static const char RECOVERY_ALPHABET[] = "0123456789abcdefghjkmnpqrstvwxyz";

int totp_recovery_new(char out[TOTP_RECOVERY_LEN])
{
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    int o = 0;
    for (int i = 0; i < 12; i++) {
        if (i == 4 || i == 8)
            out[o++] = '-';
        out[o++] = RECOVERY_ALPHABET[raw[i] & 31];
    }
    out[o] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

bool totp_recovery_normalise(const char *typed, char out[TOTP_RECOVERY_LEN])
{
    int n = 0;
    for (const char *p = typed; *p; p++) {
        char ch = *p;
        if (ch == ' ' || ch == '-')
            continue;
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        /* Crockford's reading rules: the look-alikes mean the digits. */
        if (ch == 'o')
            ch = '0';
        else if (ch == 'i' || ch == 'l')
            ch = '1';
        if (!strchr(RECOVERY_ALPHABET, ch) || ch == '\0' || n == 12)
            return false;
        out[n++] = ch;
    }
    if (n != 12)
        return false;
    /* Stored in the shown form, so one hash covers however it was typed. */
    char plain[13];
    memcpy(plain, out, 12);
    snprintf(out, TOTP_RECOVERY_LEN, "%.4s-%.4s-%.4s", plain, plain + 4, plain + 8);
    return true;
}
