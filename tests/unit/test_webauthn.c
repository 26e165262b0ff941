/* Proves the passkey checks (src/auth/webauthn.c) against registrations and assertions made by
 * an independent software authenticator (webauthn_fixtures.h, from webauthn_fixtures.py):
 * valid ES256, EdDSA and RS256 credentials pass, and each fixture broken in one way (origin,
 * challenge, type, rp id, flags, signature, counter, format, key) fails for exactly that
 * reason. Also base64url, the rp id taken from LOGEER_PUBLIC_URL and hostile CBOR. */
#include <stdlib.h>

#include "check.h"
#include "logeer/webauthn.h"
#include "webauthn_fixtures.h"

#define NFIX (sizeof fixtures / sizeof fixtures[0])

static const unsigned char challenge[WEBAUTHN_CHALLENGE_LEN] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static struct webauthn_credential creds[NFIX]; /* registrations that passed, by fixture */

static const struct fixture *fixture_named(const char *name, size_t *index)
{
    for (size_t i = 0; i < NFIX; i++)
        if (strcmp(fixtures[i].name, name) == 0) {
            *index = i;
            return &fixtures[i];
        }
    return NULL;
}

static void test_registrations(const struct webauthn_rp *rp)
{
    for (size_t i = 0; i < NFIX; i++) {
        const struct fixture *f = &fixtures[i];
        if (strcmp(f->kind, "create") != 0)
            continue;
        enum webauthn_status st = webauthn_registration_check(
            rp, challenge, (const unsigned char *)f->cd, f->cd_len,
            (const unsigned char *)f->obj, f->obj_len, f->uv, &creds[i]);
        if (strcmp(webauthn_status_name(st), f->expect) != 0)
            fprintf(stderr, "registration '%s': %s\n", f->name, webauthn_status_name(st));
        CHECK_STR(webauthn_status_name(st), f->expect);
        if (st == WEBAUTHN_OK) {
            CHECK(creds[i].id_len == 32);
            CHECK(creds[i].public_key && creds[i].public_key_len > 40);
            CHECK(creds[i].user_verified);
        } else {
            CHECK(creds[i].public_key == NULL && creds[i].id_len == 0);
        }
    }
    size_t i;
    CHECK(fixture_named("eddsa none", &i) && creds[i].alg == WEBAUTHN_EDDSA);
    CHECK(fixture_named("rs256 packed self", &i) && creds[i].alg == WEBAUTHN_RS256);
    CHECK(fixture_named("es256 packed self", &i) && creds[i].alg == WEBAUTHN_ES256);
    CHECK_STR(creds[i].fmt, "packed");
}

static void test_assertions(const struct webauthn_rp *rp)
{
    for (size_t i = 0; i < NFIX; i++) {
        const struct fixture *f = &fixtures[i];
        if (strcmp(f->kind, "get") != 0)
            continue;
        size_t k;
        if (!fixture_named(f->key, &k) || !creds[k].public_key) {
            CHECK(!"the assertion's registration passed");
            continue;
        }
        struct webauthn_assertion a;
        enum webauthn_status st = webauthn_assertion_check(
            rp, challenge, (const unsigned char *)f->cd, f->cd_len,
            (const unsigned char *)f->obj, f->obj_len, (const unsigned char *)f->sig,
            f->sig_len, creds[k].public_key, creds[k].public_key_len, creds[k].alg, f->stored,
            f->uv, &a);
        if (strcmp(webauthn_status_name(st), f->expect) != 0)
            fprintf(stderr, "assertion '%s': %s\n", f->name, webauthn_status_name(st));
        CHECK_STR(webauthn_status_name(st), f->expect);
        if (st == WEBAUTHN_OK)
            CHECK(a.sign_count == 0 || a.sign_count > f->stored);
    }
}

/* A signature that holds for one message holds for no other: the same assertion checked
 * with a changed byte of authData (the UV flag set afterwards) must fail. */
static void test_auth_data_bound_to_signature(const struct webauthn_rp *rp)
{
    size_t i, k;
    const struct fixture *f = fixture_named("no verification, not required", &i);
    CHECK(f && fixture_named(f->key, &k));
    if (!f)
        return;
    unsigned char ad[512];
    CHECK(f->obj_len <= sizeof ad);
    memcpy(ad, f->obj, f->obj_len);
    ad[32] |= 0x04;
    struct webauthn_assertion a;
    CHECK(webauthn_assertion_check(rp, challenge, (const unsigned char *)f->cd, f->cd_len, ad,
                                   f->obj_len, (const unsigned char *)f->sig, f->sig_len,
                                   creds[k].public_key, creds[k].public_key_len, creds[k].alg,
                                   0, true, &a) == WEBAUTHN_BAD_SIGNATURE);
}

static void test_b64url(void)
{
    char text[64];
    unsigned char bytes[64];
    webauthn_b64url_encode((const unsigned char *)"\xfb\xff\x00", 3, text);
    CHECK_STR(text, "-_8A");
    webauthn_b64url_encode((const unsigned char *)"ab", 2, text);
    CHECK_STR(text, "YWI");
    CHECK(webauthn_b64url_decode("YWI", bytes, sizeof bytes) == 2 && memcmp(bytes, "ab", 2) == 0);
    CHECK(webauthn_b64url_decode("YWI=", bytes, sizeof bytes) == -1); /* padding */
    CHECK(webauthn_b64url_decode("YW+", bytes, sizeof bytes) == -1);  /* base64, not url */
    CHECK(webauthn_b64url_decode("YWJ", bytes, sizeof bytes) == -1);  /* stray bits */
    CHECK(webauthn_b64url_decode("Y", bytes, sizeof bytes) == -1);
    CHECK(webauthn_b64url_decode("YWJjZA", bytes, 3) == -1);          /* over cap */
    CHECK(webauthn_b64url_decode("", bytes, sizeof bytes) == 0);
}

static void test_rp_from_url(void)
{
    struct webauthn_rp rp;
    CHECK(webauthn_rp_from_url("https://Logeer.Example.nl/portaal/", &rp) == 0);
    CHECK_STR(rp.id, "logeer.example.nl");
    CHECK_STR(rp.origin, "https://logeer.example.nl");
    CHECK(webauthn_rp_from_url("https://logeer.example.nl:443", &rp) == 0);
    CHECK_STR(rp.origin, "https://logeer.example.nl");
    CHECK(webauthn_rp_from_url("http://localhost:80/", &rp) == 0);
    CHECK_STR(rp.origin, "http://localhost");
    CHECK(webauthn_rp_from_url("https://logeer.example.nl:8443", &rp) == 0);
    CHECK_STR(rp.origin, "https://logeer.example.nl:8443");
    CHECK(webauthn_rp_from_url("http://localhost:8080", &rp) == 0);
    CHECK_STR(rp.id, "localhost");
    CHECK_STR(rp.origin, "http://localhost:8080");
    CHECK(webauthn_rp_from_url("ftp://example.nl", &rp) == -1);
    CHECK(webauthn_rp_from_url("https://", &rp) == -1);
    CHECK(webauthn_rp_from_url("https://user@example.nl", &rp) == -1);
    CHECK(webauthn_rp_from_url("http://[::1]:8080", &rp) == -1);
}

/* Headers that claim more than the input holds are refused before libcbor allocates for
 * them; so are indefinite lengths, tags and trailing bytes. */
static void test_hostile_cbor(const struct webauthn_rp *rp)
{
    size_t i;
    const struct fixture *f = fixture_named("es256 none", &i);
    CHECK(f != NULL);
    if (!f)
        return;
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9}, /* array of 2^64 - 1 */
        {"\xbb\x00\x00\x00\x01\x00\x00\x00\x00", 9}, /* map of 2^32 */
        {"\x5a\xff\xff\xff\xff", 5},                 /* byte string of 4 GiB */
        {"\xbf\xff", 2},                             /* indefinite map */
        {"\xc0\xa0", 2},                             /* tagged map */
        {"\xa0\x00", 2},                             /* trailing byte */
        {"\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x80", 19},
        {"", 0},
    };
    struct webauthn_credential cred;
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        CHECK(webauthn_registration_check(rp, challenge, (const unsigned char *)f->cd, f->cd_len,
                                          (const unsigned char *)bad[b].bytes, bad[b].len, true,
                                          &cred) == WEBAUTHN_MALFORMED);
    /* Every prefix of a valid attestation object is malformed, never a crash. */
    for (size_t n = 0; n < f->obj_len; n++)
        CHECK(webauthn_registration_check(rp, challenge, (const unsigned char *)f->cd, f->cd_len,
                                          (const unsigned char *)f->obj, n, true, &cred) ==
              WEBAUTHN_MALFORMED);
    unsigned char out[WEBAUTHN_CHALLENGE_LEN];
    CHECK(webauthn_client_challenge((const unsigned char *)f->cd, f->cd_len, out) == 0 &&
          memcmp(out, challenge, sizeof out) == 0);
    CHECK(webauthn_client_challenge((const unsigned char *)"{\"challenge\":\"AAAA\"}", 20, out) ==
          -1);
    CHECK(webauthn_client_challenge((const unsigned char *)"[1]", 3, out) == -1);
}

int main(void)
{
    struct webauthn_rp rp;
    CHECK(webauthn_rp_from_url(FIX_ORIGIN, &rp) == 0);
    CHECK_STR(rp.id, FIX_RP_ID);
    test_registrations(&rp);
    test_assertions(&rp);
    test_auth_data_bound_to_signature(&rp);
    test_b64url();
    test_rp_from_url();
    test_hostile_cbor(&rp);
    for (size_t i = 0; i < NFIX; i++)
        webauthn_credential_clear(&creds[i]);
    return check_done("webauthn");
}
