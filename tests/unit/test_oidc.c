/* test_oidc: the pure parts of single sign-on's relying party: the PKCE S256 challenge against
 * RFC 7636's own example, and the names of the refusals that the sign-in page and the access
 * log share (a renamed reason would silently lose its Dutch text in web/portaal/sso-texts.js). */
#include <stdio.h>

#include "check.h"
#include "logeer/oidc.h"

static void test_pkce_challenge_matches_rfc_7636_appendix_b(void)
{
    char out[44];
    oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out);
    CHECK_STR(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_failure_names_are_the_pages_reasons(void)
{
    CHECK_STR(oidc_failure_name(OIDC_OK), "ok");
    CHECK_STR(oidc_failure_name(OIDC_FAIL_ALG), "algorithm");
    CHECK_STR(oidc_failure_name(OIDC_FAIL_UNKNOWN_KEY), "unknown_key");
    CHECK_STR(oidc_failure_name(OIDC_FAIL_SIGNATURE), "signature");
    CHECK_STR(oidc_failure_name(OIDC_FAIL_AUDIENCE), "audience");
    CHECK_STR(oidc_failure_name(OIDC_FAIL_EXPIRED), "expired");
    CHECK_STR(oidc_failure_name(OIDC_FAIL_NONCE), "nonce");
    CHECK_STR(oidc_failure_name((enum oidc_failure)99), "?");
}

int main(void)
{
    test_pkce_challenge_matches_rfc_7636_appendix_b();
    test_failure_names_are_the_pages_reasons();
    return check_done("oidc");
}
