/* fmt: text put together from known pieces on the hot path (a reply's head, a request id, a
 * log line's time), without a format string: snprintf parses its format on every call, some
 * thousand instructions for a head's line. Each function writes at p, which the caller has
 * made room for, and returns where the text ends; none writes a terminating NUL. */
#ifndef LOGEER_FMT_H
#define LOGEER_FMT_H

#include <stddef.h>
#include <stdint.h>

char *fmt_bytes(char *p, const char *s, size_t n);
/* A string literal: its length is known at compile time. */
#define fmt_lit(p, lit) fmt_bytes((p), (lit), sizeof(lit) - 1)
char *fmt_str(char *p, const char *s);
/* At most 20 characters. */
char *fmt_uint(char *p, unsigned long long v);
/* At most 20 characters, a minus included. */
char *fmt_int(char *p, long long v);
/* v in exactly `width` decimal digits, zero-padded (v must fit). */
char *fmt_uint_pad(char *p, unsigned v, int width);
/* 16 lowercase hexadecimal digits. */
char *fmt_hex64(char *p, uint64_t v);

#endif
