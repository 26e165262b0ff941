/* utf8: the one UTF-8 validity check of the engine. Everything a client sends (path, query,
 * header values, JSON bodies) passes it before a handler or the database sees the text, so
 * PostgreSQL never gets an encoding error to turn into a 500. Pure. */
#ifndef LOGEER_UTF8_H
#define LOGEER_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes at s are well-formed UTF-8 (RFC 3629: no overlong forms, no UTF-16
 * surrogates, nothing past U+10FFFF) without a NUL byte. */
bool utf8_valid(const char *s, size_t len);

/* Length of the longest prefix of s (len bytes) that is whole, valid UTF-8: where to cut text
 * that was shortened at a byte count ("%.200s") so that no sequence is left half. */
size_t utf8_valid_prefix(const char *s, size_t len);

/* The same check a byte at a time, for text that only exists as it is decoded (a
 * percent-encoded query string). Start from a zeroed scan; feed every byte; the text is valid
 * when no byte was refused and utf8_scan_complete is true at its end. */
struct utf8_scan {
    unsigned need; /* continuation bytes still expected */
    unsigned cp;   /* code point so far */
    unsigned min;  /* smallest code point its length may encode */
};

bool utf8_scan_byte(struct utf8_scan *u, unsigned char c);
bool utf8_scan_complete(const struct utf8_scan *u);

#endif
