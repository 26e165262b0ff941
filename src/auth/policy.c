/* policy: which passwords people may choose. Length bounds and a refusal of the most common
 * passwords, the two checks NIST SP 800-63B asks for; no composition rules, which only push
 * people towards "Welkom01!". Pure string work: no I/O, no hashing. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "logeer/auth.h"

/* The twenty most used passwords in the breach corpus the UK NCSC analysed (2019). They are
 * all shorter than the minimum length, so on their own they are refused by length; the check
 * below matters for the padded forms people reach for when told "at least 12 characters":
 * the same word repeated ("qwertyqwerty", "passwordpassword") or followed by digits and
 * punctuation ("password2026!", "123456789012"). */
static const char *const common_passwords[] = {
    "123456",   "123456789", "qwerty",     "password",   "1111111",
    "12345678", "abc123",    "1234567",    "password1",  "12345",
    "1234567890", "123123",  "000000",     "iloveyou",   "1234",
    "1q2w3e4r5t", "qwertyuiop", "123",     "monkey",     "dragon",
};
#define NCOMMON (sizeof common_passwords / sizeof common_passwords[0])

/* True when password is word repeated one or more times, ignoring case. */
static bool repeats_word(const char *password, size_t len, const char *word)
{
    size_t wlen = strlen(word);
    if (len % wlen != 0)
        return false;
    for (size_t i = 0; i < len; i += wlen)
        if (strncasecmp(password + i, word, wlen) != 0)
            return false;
    return true;
}

/* True when password is word followed only by digits and punctuation ("password2026!",
 * "123456789012"): the other padding people reach for. */
static bool word_then_digits(const char *password, size_t len, const char *word)
{
    size_t wlen = strlen(word);
    if (len < wlen || strncasecmp(password, word, wlen) != 0)
        return false;
    for (size_t i = wlen; i < len; i++) {
        unsigned char ch = (unsigned char)password[i];
        bool digit = ch >= '0' && ch <= '9';
        bool punct = ch > ' ' && ch < 0x7f && !(ch >= 'a' && ch <= 'z') &&
                     !(ch >= 'A' && ch <= 'Z') && !digit;
        if (!digit && !punct)
            return false;
    }
    return true;
}

/* One character over and over ("aaaaaaaaaaaa") is as guessable as any listed password. */
static bool single_character(const char *password, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if (password[i] != password[0])
            return false;
    return true;
}

const char *auth_password_policy(const char *password)
{
    size_t len = password ? strlen(password) : 0;
    if (len < AUTH_PASSWORD_MIN)
        return "must be at least 12 characters";
    if (len > AUTH_PASSWORD_MAX)
        return "must be at most 1000 characters";
    if (single_character(password, len))
        return "is one character repeated; choose a longer phrase";
    for (size_t i = 0; i < NCOMMON; i++)
        if (repeats_word(password, len, common_passwords[i]) ||
            word_then_digits(password, len, common_passwords[i]))
            return "is one of the most common passwords; choose another";
    return NULL;
}
