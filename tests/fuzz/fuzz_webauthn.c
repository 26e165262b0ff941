/* fuzz_webauthn: libFuzzer harness for the passkey checks (src/auth/webauthn.c). Byte 0 picks
 * what the rest is: even, an attestation object (behind a valid clientDataJSON, so the CBOR,
 * authData and COSE key parsers are reached); odd, authenticator data of an assertion checked
 * against a valid key. Must never do I/O: crashes, leaks and UB are its only output, and a
 * forged input that passes is a broken invariant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/webauthn_fixtures.h"
#include "logeer/webauthn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char challenge[WEBAUTHN_CHALLENGE_LEN] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static const struct fixture *named(const char *name)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        if (strcmp(fixtures[i].name, name) == 0)
            return &fixtures[i];
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct webauthn_rp rp;
    static struct webauthn_credential key;
    static const struct fixture *reg, *get;
    if (!reg) {
        reg = named("es256 none");
        get = named("es256");
        if (webauthn_rp_from_url(FIX_ORIGIN, &rp) != 0 ||
            webauthn_registration_check(&rp, challenge, (const unsigned char *)reg->cd,
                                        reg->cd_len, (const unsigned char *)reg->obj,
                                        reg->obj_len, true, &key) != WEBAUTHN_OK)
            abort();
    }
    if (size < 1)
        return 0;
    if (data[0] % 2 == 0) {
        struct webauthn_credential cred;
        enum webauthn_status st = webauthn_registration_check(
            &rp, challenge, (const unsigned char *)reg->cd, reg->cd_len, data + 1, size - 1,
            data[0] & 2, &cred);
        if (st == WEBAUTHN_OK && (!cred.public_key || cred.id_len == 0))
            abort();
        webauthn_credential_clear(&cred);
    } else {
        /* The signature covers authData, so only the fixture's own bytes may pass. */
        struct webauthn_assertion a;
        enum webauthn_status st = webauthn_assertion_check(
            &rp, challenge, (const unsigned char *)get->cd, get->cd_len, data + 1, size - 1,
            (const unsigned char *)get->sig, get->sig_len, key.public_key, key.public_key_len,
            key.alg, 0, data[0] & 2, &a);
        if (st == WEBAUTHN_OK &&
            (size - 1 != get->obj_len || memcmp(data + 1, get->obj, get->obj_len) != 0))
            abort();
    }
    return 0;
}
