/* stay_ical: a stay as one iCalendar event (RFC 5545), shared by the stay's own calendar file
 * (stays.c) and the calendar feeds (calendar_feeds.c), so that both describe a stay alike and
 * under one UID. Says where and when and how sure; never the guest's care profile, needs or
 * birth year (a calendar is synced to servers and phones nobody here controls). Internal to
 * the api layer; pure text building on struct ical, no I/O. */
#ifndef LOGEER_API_STAY_ICAL_H
#define LOGEER_API_STAY_ICAL_H

#include <stdbool.h>

#include "logeer/date.h"
#include "logeer/ical.h"

/* One stay as the event shows it; texts are borrowed. */
struct stay_ical {
    const char *id;          /* the stay's id; the UID is "<id>@logeerzorg" */
    const char *status;      /* the stay_status name ("confirmed") */
    date_day check_in, check_out;
    const char *summary;     /* the event's title, as the caller words it */
    const char *location;    /* the location's name */
    const char *address;     /* "" when unknown: the location's name stands in */
    const char *place;       /* the municipality's name */
    const char *pool, *provider;
    const char *in_window, *out_window; /* "14:00-17:00", or NULL: whole days */
    const char *sequence;    /* RFC 5545 SEQUENCE: the number of the stay's changes */
    const char *stamp;       /* DTSTAMP, UTC "20261204T101500Z" */
};

/* VCALENDAR's head; name (X-WR-CALNAME, NULL for none) is what calendar apps show as the
 * calendar's title. With timezone the Europe/Amsterdam VTIMEZONE that timed events need. */
void stay_ical_begin(struct ical *ic, const char *name, bool with_timezone);
/* One VEVENT. A window is used only when both are given; otherwise whole days. */
void stay_ical_event(struct ical *ic, const struct stay_ical *s);
void stay_ical_end(struct ical *ic);

#endif
