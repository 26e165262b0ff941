/* ical: writes RFC 5545 iCalendar text: content lines ended by CRLF, folded so that no line
 * is longer than 75 octets (never inside a UTF-8 character), TEXT values escaped (backslash,
 * semicolon, comma, newline). Pure: builds a string in memory, no I/O; what the calendar
 * says is the caller's business. */
#ifndef LOGEER_ICAL_H
#define LOGEER_ICAL_H

#include <stdbool.h>
#include <stddef.h>

struct ical {
    char *buf;        /* the text so far, NUL-terminated when not failed */
    size_t len, cap;
    bool failed;      /* an allocation failed: ical_take returns NULL */
};

void ical_init(struct ical *c);

/* One content line "name:value" with value written as it is (dates, UIDs, enumerations);
 * name may carry parameters ("DTSTART;VALUE=DATE"). */
void ical_line(struct ical *c, const char *name, const char *value);

/* One content line whose value is TEXT: escaped as RFC 5545 3.3.11 requires. NULL writes
 * nothing at all. */
void ical_text(struct ical *c, const char *name, const char *text);

/* The finished text (the caller frees it) and its length; NULL when an allocation failed.
 * Leaves c empty. */
char *ical_take(struct ical *c, size_t *len);

void ical_free(struct ical *c);

#endif
