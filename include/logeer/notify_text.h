/* notify_text: the Dutch (B1) words of every email kind, plain text and HTML, from a message's
 * data (ids, dates, place, status, link). Pure: no I/O, no SQL; the data never holds health
 * data, and no template asks for any. */
#ifndef LOGEER_NOTIFY_TEXT_H
#define LOGEER_NOTIFY_TEXT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "logeer/mail.h"

/* One kind of email: its name (the API's and the database's), who gets it and whether it can
 * be switched off. The one table both ways (notify_text.c). */
struct notify_kind {
    const char *name;        /* e.g. "request_declined" */
    const char *audience;    /* "caregiver", "provider" or "coordinator" (the user role) */
    bool essential;          /* cannot be switched off (agrees with logeer_notify_essential) */
    const char *description; /* Dutch, for the preferences page */
};

extern const struct notify_kind notify_kinds[];
extern const unsigned notify_nkinds;
const struct notify_kind *notify_kind_find(const char *name);

/* Renders kind with data into subject, text and html. public_url has no trailing slash.
 * -1 for an unknown kind or out of memory. */
__attribute__((warn_unused_result))
int notify_text_render(const char *kind, const cJSON *data, const char *public_url,
                       struct mail_buf *subject, struct mail_buf *text, struct mail_buf *html);

/* Password reset and address verification: sent at once, never queued (notify.h). */
bool notify_text_is_account_kind(const char *kind);

#endif
