/* Proves the password policy refuses short, overlong and common passwords (also padded by
 * repetition or trailing digits) and accepts ordinary passphrases. */
#include <stdlib.h>

#include "check.h"
#include "logeer/auth.h"

static void test_length_bounds(void)
{
    CHECK_STR(auth_password_policy(""), "must be at least 12 characters");
    CHECK_STR(auth_password_policy("elf-tekens!"), "must be at least 12 characters");
    CHECK(auth_password_policy("twaalf-tekst") == NULL); /* exactly 12 */
    char *long_pw = malloc(1002);
    memset(long_pw, 'x', 1001);
    long_pw[0] = 'a';
    long_pw[1001] = '\0';
    CHECK_STR(auth_password_policy(long_pw), "must be at most 1000 characters");
    long_pw[1000] = '\0';
    CHECK(auth_password_policy(long_pw) == NULL); /* exactly 1000, not one character */
    free(long_pw);
}

static void test_common_passwords_are_refused(void)
{
    /* Listed passwords are all short, so length refuses them first. */
    CHECK(auth_password_policy("123456") != NULL);
    CHECK(auth_password_policy("password") != NULL);
    const char *padded[] = {"123456123456", "passwordpassword", "QwertyQWERTY",
                            "abc123abc123", "monkeymonkey", "dragondragon",
                            "iloveyouiloveyou", "1q2w3e4r5t1q2w3e4r5t", "qwertyuiopqwertyuiop",
                            "123123123123", "000000000000", "123412341234",
                            "password1234", "Password2026!", "123456789012", "qwerty!!2026#"};
    for (size_t i = 0; i < sizeof padded / sizeof padded[0]; i++) {
        const char *why = auth_password_policy(padded[i]);
        CHECK(why != NULL);
        if (why && strcmp(why, "is one of the most common passwords; choose another") != 0 &&
            strcmp(why, "is one character repeated; choose a longer phrase") != 0)
            CHECK(!"unexpected message");
    }
    CHECK_STR(auth_password_policy("aaaaaaaaaaaaaa"), "is one character repeated; choose a longer phrase");
}

static void test_ordinary_passphrases_pass(void)
{
    CHECK(auth_password_policy("logeer-test-password") == NULL);
    CHECK(auth_password_policy("paard batterij nietje") == NULL);
    CHECK(auth_password_policy("dragonfly boven de sloot") == NULL); /* a word, not padding */
    CHECK(auth_password_policy("mijn-123456-fiets") == NULL);
}

int main(void)
{
    test_length_bounds();
    test_common_passwords_are_refused();
    test_ordinary_passphrases_pass();
    return check_done("password_policy");
}
