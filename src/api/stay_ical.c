/* stay_ical: a stay as one iCalendar event (see stay_ical.h). Owns the words a calendar shows
 * for each stay status and the Europe/Amsterdam time zone definition; never reads or logs
 * anything. */
#include "stay_ical.h"

#include <stdio.h>
#include <string.h>

#include "logeer/core.h"

/* The stay's status as the family reads it in their calendar, and as iCalendar's STATUS. */
static const struct {
    const char *words, *ical;
} calendar_status[STAY_STATUS_COUNT] = {
    [STAY_HELD] = {"vastgehouden, nog niet bevestigd", "TENTATIVE"},
    [STAY_REQUESTED] = {"aangevraagd, wacht op de zorgaanbieder", "TENTATIVE"},
    [STAY_CONFIRMED] = {"bevestigd", "CONFIRMED"},
    [STAY_DECLINED] = {"afgewezen", "CANCELLED"},
    [STAY_CHECKED_IN] = {"aangekomen", "CONFIRMED"},
    [STAY_COMPLETED] = {"afgerond", "CONFIRMED"},
    [STAY_CANCELLED] = {"geannuleerd", "CANCELLED"},
    [STAY_EXPIRED] = {"verlopen", "CANCELLED"},
    [STAY_NO_SHOW] = {"niet gekomen", "CANCELLED"},
    [STAY_WAITLISTED] = {"op de wachtlijst", "TENTATIVE"},
};

/* Europe/Amsterdam since 1996: a timed DTSTART names its zone, and RFC 5545 wants that zone
 * described in the file, so that a calendar in another zone shows the right hour. */
static void calendar_timezone(struct ical *ic)
{
    ical_line(ic, "BEGIN", "VTIMEZONE");
    ical_line(ic, "TZID", "Europe/Amsterdam");
    ical_line(ic, "BEGIN", "DAYLIGHT");
    ical_line(ic, "TZOFFSETFROM", "+0100");
    ical_line(ic, "TZOFFSETTO", "+0200");
    ical_line(ic, "TZNAME", "CEST");
    ical_line(ic, "DTSTART", "19700329T020000");
    ical_line(ic, "RRULE", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU");
    ical_line(ic, "END", "DAYLIGHT");
    ical_line(ic, "BEGIN", "STANDARD");
    ical_line(ic, "TZOFFSETFROM", "+0200");
    ical_line(ic, "TZOFFSETTO", "+0100");
    ical_line(ic, "TZNAME", "CET");
    ical_line(ic, "DTSTART", "19701025T030000");
    ical_line(ic, "RRULE", "FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU");
    ical_line(ic, "END", "STANDARD");
    ical_line(ic, "END", "VTIMEZONE");
}

/* "2026-12-04" -> "20261204". */
static void ical_date(date_day d, char out[9])
{
    char text[DATE_TEXT_LEN];
    date_format(d, text);
    snprintf(out, 9, "%.4s%.2s%.2s", text, text + 5, text + 8);
}

/* DTSTART or DTEND: with the pool's window ("14:00-17:00") a local time, the window's start
 * for arriving and its end for leaving; without one a whole day. A whole-day event ends the
 * day after the check-out, so that the calendar shows the day the guest is picked up. */
static void calendar_moment(struct ical *ic, const char *name, date_day day, const char *window,
                            bool end)
{
    char date[9], name_params[48], value[24];
    if (window && strlen(window) == 11) {
        ical_date(day, date);
        const char *t = end ? window + 6 : window;
        snprintf(name_params, sizeof name_params, "%s;TZID=Europe/Amsterdam", name);
        snprintf(value, sizeof value, "%sT%.2s%.2s00", date, t, t + 3);
    } else {
        ical_date(end ? day + 1 : day, date);
        snprintf(name_params, sizeof name_params, "%s;VALUE=DATE", name);
        snprintf(value, sizeof value, "%s", date);
    }
    ical_line(ic, name_params, value);
}

void stay_ical_begin(struct ical *ic, const char *name, bool with_timezone)
{
    ical_line(ic, "BEGIN", "VCALENDAR");
    ical_line(ic, "VERSION", "2.0");
    ical_line(ic, "PRODID", "-//Logeerzorg//logeerd//NL");
    ical_line(ic, "CALSCALE", "GREGORIAN");
    ical_line(ic, "METHOD", "PUBLISH");
    if (name)
        ical_text(ic, "X-WR-CALNAME", name);
    if (with_timezone)
        calendar_timezone(ic);
}

void stay_ical_end(struct ical *ic) { ical_line(ic, "END", "VCALENDAR"); }

void stay_ical_event(struct ical *ic, const struct stay_ical *s)
{
    int st = core_name_index(core_status_names, s->status);
    if (st < 0)
        st = STAY_HELD;
    const char *in_window = s->in_window, *out_window = s->out_window;
    /* A timed event needs both windows; with one only, the whole days say it plainly. */
    if (!in_window || !out_window)
        in_window = out_window = NULL;
    char text[1200], uid[80];
    snprintf(uid, sizeof uid, "%s@logeerzorg", s->id);
    ical_line(ic, "BEGIN", "VEVENT");
    ical_line(ic, "UID", uid);
    ical_line(ic, "DTSTAMP", s->stamp);
    ical_line(ic, "SEQUENCE", s->sequence);
    calendar_moment(ic, "DTSTART", s->check_in, in_window, false);
    calendar_moment(ic, "DTEND", s->check_out, out_window, true);
    ical_text(ic, "SUMMARY", s->summary);
    if (*s->address)
        snprintf(text, sizeof text, "%s, %s", s->address, s->place);
    else
        snprintf(text, sizeof text, "%s, %s", s->location, s->place);
    ical_text(ic, "LOCATION", text);
    int nights = s->check_out - s->check_in;
    int n = snprintf(text, sizeof text, "Logeerplek %s van %s, %d %s.\nStatus: %s.", s->pool,
                     s->provider, nights, nights == 1 ? "nacht" : "nachten",
                     calendar_status[st].words);
    if (in_window && n > 0 && (size_t)n < sizeof text)
        snprintf(text + n, sizeof text - (size_t)n,
                 "\nAankomst tussen %.5s en %.5s, vertrek tussen %.5s en %.5s.", in_window,
                 in_window + 6, out_window, out_window + 6);
    ical_text(ic, "DESCRIPTION", text);
    ical_line(ic, "STATUS", calendar_status[st].ical);
    /* A cancelled stay no longer blocks the family's or the planner's time. */
    ical_line(ic, "TRANSP", strcmp(calendar_status[st].ical, "CANCELLED") ? "OPAQUE"
                                                                          : "TRANSPARENT");
    ical_line(ic, "END", "VEVENT");
}
