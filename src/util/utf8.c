/* utf8: well-formedness of UTF-8 text (RFC 3629), with NUL refused as well: a NUL inside a
 * string would cut it short for every C consumer after this check. One byte-at-a-time state
 * machine serves both the whole-buffer check and text that is decoded as it is scanned. */
#include "logeer/utf8.h"

/* A lead byte: how many continuation bytes follow, its payload bits, and the smallest code
 * point that needs this length (anything below is an overlong form). */
static bool utf8_lead(struct utf8_scan *u, unsigned c)
{
    if ((c & 0xE0) == 0xC0)
        u->need = 1, u->cp = c & 0x1F, u->min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        u->need = 2, u->cp = c & 0x0F, u->min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        u->need = 3, u->cp = c & 0x07, u->min = 0x10000;
    else
        return false;
    return true;
}

bool utf8_scan_byte(struct utf8_scan *u, unsigned char c)
{
    if (u->need == 0) {
        if (c == 0)
            return false;
        return c < 0x80 || utf8_lead(u, c);
    }
    if ((c & 0xC0) != 0x80)
        return false;
    u->cp = (u->cp << 6) | (c & 0x3F);
    if (--u->need > 0)
        return true;
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are all invalid. */
    return u->cp >= u->min && u->cp <= 0x10FFFF && !(u->cp >= 0xD800 && u->cp <= 0xDFFF);
}

bool utf8_scan_complete(const struct utf8_scan *u) { return u->need == 0; }

size_t utf8_valid_prefix(const char *s, size_t len)
{
    struct utf8_scan u = {0};
    size_t whole = 0; /* end of the last complete character */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Plain ASCII outside a sequence is the common case: no state to update. */
        if (c - 1u < 0x7Fu && u.need == 0) {
            whole = i + 1;
            continue;
        }
        if (!utf8_scan_byte(&u, c))
            return whole;
        if (utf8_scan_complete(&u))
            whole = i + 1;
    }
    return whole;
}

bool utf8_valid(const char *s, size_t len) { return utf8_valid_prefix(s, len) == len; }
