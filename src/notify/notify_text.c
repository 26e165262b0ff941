/* notify_text: the words of each email kind, in Dutch at B1 level: short sentences, what
 * happened, what to do next, one link. Every value from the data is HTML-escaped in the HTML
 * part. Only ids, dates, place, status and the provider's reason are ever shown. */
#include "logeer/notify_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct notify_kind notify_kinds[] = {
    {"request_received", "caregiver", false, "Uw aanvraag is ontvangen"},
    {"request_approved", "caregiver", true, "Uw aanvraag is goedgekeurd"},
    {"booking_confirmed", "caregiver", false, "Uw boeking is bevestigd"},
    {"request_declined", "caregiver", true, "Uw aanvraag is afgewezen"},
    {"waitlist_offer", "caregiver", true, "Er is een plek vrij van de wachtlijst"},
    {"stay_cancelled", "caregiver", true, "Uw verblijf is geannuleerd door de zorgaanbieder"},
    {"request_pending", "provider", true, "Een nieuwe aanvraag wacht op uw besluit"},
    {"new_booking", "provider", false, "Een nieuwe boeking"},
    {"stay_cancelled_staff", "provider", false, "Een verblijf is geannuleerd"},
    {"stay_reminder", "caregiver", false, "Herinnering kort voor de aankomst"},
    {"capacity_stale_soon", "provider", false,
     "Herinnering: bevestig uw aantal bedden voordat het verouderd is"},
    {"weekly_digest", "coordinator", false, "Overzicht van de week"},
    {"webhook_disabled", "provider", true, "Een webhook is uitgezet omdat hij steeds mislukte"},
};
const unsigned notify_nkinds = sizeof notify_kinds / sizeof notify_kinds[0];

const struct notify_kind *notify_kind_find(const char *name)
{
    for (unsigned i = 0; i < notify_nkinds; i++)
        if (strcmp(notify_kinds[i].name, name) == 0)
            return &notify_kinds[i];
    return NULL;
}

static const char *str(const cJSON *data, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, field);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* "vrijdag 4 december 2026" from "2026-12-04"; the ISO text itself when it does not parse. */
static void dutch_date(const char *iso, char *out, size_t size)
{
    static const char *const days[] = {"zondag", "maandag", "dinsdag", "woensdag",
                                       "donderdag", "vrijdag", "zaterdag"};
    static const char *const months[] = {"januari", "februari", "maart", "april", "mei", "juni",
                                         "juli", "augustus", "september", "oktober",
                                         "november", "december"};
    struct tm tm = {0};
    if (sscanf(iso, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3 ||
        tm.tm_mon < 1 || tm.tm_mon > 12) {
        snprintf(out, size, "%s", iso);
        return;
    }
    int year = tm.tm_year, mon = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_hour = 12;
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    snprintf(out, size, "%s %d %s %d", days[back.tm_wday], tm.tm_mday, months[mon - 1], year);
}

struct words {
    const char *subject;
    const char *intro;     /* first sentence; %s is the place */
    const char *next;      /* what to do now */
    const char *button;    /* the link's words */
    bool staff;            /* link to the provider's board instead of the portal */
};

static const struct words *words_for(const char *kind)
{
    static const struct words w[] = {
        {"Wij hebben uw aanvraag ontvangen",
         "Wij hebben uw aanvraag voor een logeerplek bij %s ontvangen.",
         "De zorgaanbieder kijkt nu naar uw aanvraag. U krijgt een e-mail zodra er een besluit is.",
         "Bekijk uw aanvraag", false},
        {"Uw logeerplek is goedgekeurd",
         "Goed nieuws: de zorgaanbieder heeft uw aanvraag voor een logeerplek bij %s goedgekeurd.",
         "De plek is nu voor u vastgelegd. U hoeft niets meer te doen.",
         "Bekijk uw logeerplek", false},
        {"Uw logeerplek is geboekt",
         "Uw logeerplek bij %s is geboekt.",
         "De plek is voor u vastgelegd. U hoeft niets meer te doen.",
         "Bekijk uw logeerplek", false},
        {"Uw aanvraag is afgewezen",
         "De zorgaanbieder heeft uw aanvraag voor een logeerplek bij %s afgewezen.",
         "U kunt een andere plek zoeken of een nieuwe aanvraag doen.",
         "Zoek een andere plek", false},
        {"Er is een logeerplek vrij voor u",
         "Er is een logeerplek vrijgekomen bij %s. U stond hiervoor op de wachtlijst.",
         "Wilt u de plek? Bevestig het aanbod dan op tijd. Doet u dat niet, dan gaat de plek "
         "naar de volgende op de wachtlijst.",
         "Bevestig de plek", false},
        {"Uw logeerplek is geannuleerd",
         "Uw logeerplek bij %s is geannuleerd door de zorgaanbieder.",
         "Wij vinden dit vervelend voor u. U kunt een andere plek zoeken.",
         "Bekijk uw logeerplekken", false},
        {"Nieuwe aanvraag: graag uw besluit",
         "Er is een nieuwe aanvraag voor een logeerplek bij %s.",
         "Keur de aanvraag goed of wijs hem af. De aanvrager wacht op uw besluit.",
         "Bekijk de aanvraag", true},
        {"Nieuwe boeking",
         "Er is een nieuwe boeking voor een logeerplek bij %s.",
         "De plek is vastgelegd in uw beddenoverzicht.",
         "Bekijk de boeking", true},
        {"Een verblijf is geannuleerd",
         "Een verblijf bij %s is geannuleerd.",
         "Het bed is weer vrij voor deze nachten.",
         "Bekijk het overzicht", true},
        {"Herinnering: binnenkort logeren",
         "Dit is een herinnering. Binnenkort begint het logeren bij %s.",
         "Kunt u toch niet komen? Annuleer het verblijf dan zo snel mogelijk. Dan kan iemand "
         "anders de plek krijgen.",
         "Bekijk uw logeerplek", false},
        /* The two below have their own layout (render_stale, render_digest); the subject and
         * the link's words come from here. */
        {"Bevestig uw aantal bedden", NULL, NULL, "Bevestig het aantal bedden", true},
        {"Overzicht logeerzorg van de afgelopen week", NULL, NULL, "Bekijk het dashboard",
         false},
        /* webhook_disabled has its own text (render_webhook_disabled); this row keeps the
         * table in step with notify_kinds. */
        {"Uw webhook is uitgezet", "", "", "", true},
    };
    for (unsigned i = 0; i < notify_nkinds; i++)
        if (strcmp(notify_kinds[i].name, kind) == 0)
            return &w[i];
    return NULL;
}

static double num(const cJSON *data, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, field);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Both parts of a message whose body is a few paragraphs and a list of lines; the caller has
 * escaped nothing: every text goes through mail_buf_add_html here. */
struct layout {
    const char *subject;
    const char *paras[3];      /* before the list; NULL ends */
    const char *lines[12];     /* the list; NULL ends */
    const char *after;         /* after the list, or NULL */
    const char *button, *link;
};

static int render_layout(const struct layout *l, struct mail_buf *subject, struct mail_buf *text,
                         struct mail_buf *html)
{
    mail_buf_printf(subject, "%s", l->subject);
    mail_buf_printf(text, "Beste heer of mevrouw,\n\n");
    mail_buf_printf(html, "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
                          "<title>");
    mail_buf_add_html(html, l->subject);
    mail_buf_printf(html, "</title></head>\n<body>\n<p>Beste heer of mevrouw,</p>\n");
    for (unsigned i = 0; i < 3 && l->paras[i]; i++) {
        mail_buf_printf(text, "%s\n\n", l->paras[i]);
        mail_buf_printf(html, "<p>");
        mail_buf_add_html(html, l->paras[i]);
        mail_buf_printf(html, "</p>\n");
    }
    mail_buf_printf(html, "<ul>\n");
    for (unsigned i = 0; i < 12 && l->lines[i]; i++) {
        mail_buf_printf(text, "- %s\n", l->lines[i]);
        mail_buf_printf(html, "<li>");
        mail_buf_add_html(html, l->lines[i]);
        mail_buf_printf(html, "</li>\n");
    }
    mail_buf_printf(text, "\n");
    mail_buf_printf(html, "</ul>\n");
    if (l->after) {
        mail_buf_printf(text, "%s\n\n", l->after);
        mail_buf_printf(html, "<p>");
        mail_buf_add_html(html, l->after);
        mail_buf_printf(html, "</p>\n");
    }
    mail_buf_printf(text, "%s:\n%s\n\nMet vriendelijke groet,\nLogeerzorg Drenthe\n\n"
                          "Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.\n", l->button, l->link);
    mail_buf_printf(html, "<p><a href=\"");
    mail_buf_add_html(html, l->link);
    mail_buf_printf(html, "\">");
    mail_buf_add_html(html, l->button);
    mail_buf_printf(html, "</a></p>\n<p>Met vriendelijke groet,<br>Logeerzorg Drenthe</p>\n"
                          "<p><small>Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.</small></p>\n</body></html>\n");
    return subject->failed || text->failed || html->failed ? -1 : 0;
}

/* Account emails (password reset, address verification): about the account, not a stay.
 * They are essential by nature and never in notify_kinds, so nobody can switch them off. */
struct account_words {
    const char *kind;
    const char *subject;
    const char *intro;
    const char *button;
    const char *not_you;   /* what to do when the reader did not ask for this */
};

static const struct account_words account_words[] = {
    {"password_reset", "Een nieuw wachtwoord instellen",
     "U heeft gevraagd om een nieuw wachtwoord voor Logeerzorg Drenthe. Met de link hieronder "
     "kiest u een nieuw wachtwoord.",
     "Kies een nieuw wachtwoord",
     "Heeft u dit niet zelf gevraagd? Dan hoeft u niets te doen. Uw wachtwoord blijft dan "
     "hetzelfde."},
    {"email_verify", "Bevestig uw e-mailadres",
     "Welkom bij Logeerzorg Drenthe. Wilt u uw e-mailadres bevestigen? Dan weten wij zeker dat "
     "berichten over uw logeerplek bij u aankomen.",
     "Bevestig mijn e-mailadres",
     "Heeft u zelf geen account gemaakt? Dan hoeft u niets te doen."},
};

bool notify_text_is_account_kind(const char *kind)
{
    for (size_t i = 0; i < sizeof account_words / sizeof account_words[0]; i++)
        if (strcmp(account_words[i].kind, kind) == 0)
            return true;
    return false;
}

/* The link is complete in the data (the API made it, with the token in its fragment). */
static int render_account(const struct account_words *w, const cJSON *data,
                          struct mail_buf *subject, struct mail_buf *text, struct mail_buf *html)
{
    const char *link = str(data, "link"), *minutes = str(data, "valid_minutes");
    if (!*link)
        return -1;
    mail_buf_printf(subject, "%s", w->subject);

    mail_buf_printf(text, "Beste heer of mevrouw,\n\n%s\n\n%s:\n%s\n\n", w->intro, w->button,
                    link);
    mail_buf_printf(text, "De link werkt %s minuten en maar één keer.\n\n%s\n\n", minutes,
                    w->not_you);
    mail_buf_printf(text, "Met vriendelijke groet,\nLogeerzorg Drenthe\n\n"
                          "Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.\n");

    mail_buf_printf(html, "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
                          "<title>");
    mail_buf_add_html(html, w->subject);
    mail_buf_printf(html, "</title></head>\n<body>\n<p>Beste heer of mevrouw,</p>\n<p>");
    mail_buf_add_html(html, w->intro);
    mail_buf_printf(html, "</p>\n<p><a href=\"");
    mail_buf_add_html(html, link);
    mail_buf_printf(html, "\">");
    mail_buf_add_html(html, w->button);
    mail_buf_printf(html, "</a></p>\n<p>De link werkt ");
    mail_buf_add_html(html, minutes);
    mail_buf_printf(html, " minuten en maar één keer.</p>\n<p>");
    mail_buf_add_html(html, w->not_you);
    mail_buf_printf(html, "</p>\n<p>Met vriendelijke groet,<br>Logeerzorg Drenthe</p>\n"
                          "<p><small>Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.</small></p>\n</body></html>\n");
    return subject->failed || text->failed || html->failed ? -1 : 0;
}

/* The nudge before a pool's counts go stale: which pool, since when, until when. */
static int render_stale(const struct words *w, const cJSON *data, const char *public_url,
                        struct mail_buf *subject, struct mail_buf *text, struct mail_buf *html)
{
    char intro[768], pool[512], when[128], link[1024];
    const char *loc = str(data, "location_name"), *mun = str(data, "municipality");
    snprintf(intro, sizeof intro, "Het aantal bedden van %s bij %s%s%s is lang niet bevestigd.",
             str(data, "pool_name"), loc, *mun ? " in " : "", mun);
    snprintf(pool, sizeof pool, "Groep bedden: %s (nummer %s)", str(data, "pool_name"),
             str(data, "pool_id"));
    snprintf(when, sizeof when, "Verouderd vanaf: %s", str(data, "stale_at_local"));
    snprintf(link, sizeof link, "%s/aanbieder/", public_url);
    struct layout l = {
        .subject = w->subject,
        .paras = {intro, "Kloppen de aantallen nog? Bevestig ze dan, of pas ze aan. Zo zien "
                         "mantelzorgers en de coördinator wat echt vrij is."},
        .lines = {pool, when},
        .button = w->button, .link = link};
    return render_layout(&l, subject, text, html);
}

/* The coordinators' weekly digest: counts and the names of providers with stale counts. */
static int render_digest(const struct words *w, const cJSON *data, const char *public_url,
                         struct mail_buf *subject, struct mail_buf *text, struct mail_buf *html)
{
    char from[64], to[64], period[200], div[96], unmet[96], declined[96], waiting[96];
    char stale[1024], link[1024];
    dutch_date(str(data, "period_from"), from, sizeof from);
    dutch_date(str(data, "period_to"), to, sizeof to);
    snprintf(period, sizeof period, "Dit is het overzicht van %s tot en met %s.", from, to);
    snprintf(div, sizeof div, "Crisisopnames in een planbaar bed: %.0f", num(data, "diversions"));
    snprintf(unmet, sizeof unmet, "Zoekvragen zonder vrije plek: %.0f",
             num(data, "searches_without_result"));
    snprintf(declined, sizeof declined, "Afgewezen aanvragen: %.0f",
             num(data, "requests_declined"));
    snprintf(waiting, sizeof waiting, "Nu op de wachtlijst: %.0f", num(data, "waitlisted"));
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(data, "stale_providers");
    size_t used = (size_t)snprintf(stale, sizeof stale, "Zorgaanbieders met verouderde "
                                                        "aantallen: ");
    int count = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, names) {
        if (!cJSON_IsString(it) || used >= sizeof stale)
            continue;
        used += (size_t)snprintf(stale + used, sizeof stale - used, "%s%s", count ? ", " : "",
                                 it->valuestring);
        count++;
    }
    if (count == 0)
        snprintf(stale + used, sizeof stale - used, "geen");
    snprintf(link, sizeof link, "%s/dashboard/", public_url);
    struct layout l = {
        .subject = w->subject,
        .paras = {period},
        .lines = {div, unmet, declined, waiting, stale},
        .after = "De cijfers per gemeente en per zorgaanbieder staan op het dashboard.",
        .button = w->button, .link = link};
    return render_layout(&l, subject, text, html);
}

/* To the provider's staff: their system stopped taking webhooks for days, so we stopped
 * sending. What happened, that nothing is lost, and how to switch it on again. */
static int render_webhook_disabled(const cJSON *data, const char *public_url,
                                   struct mail_buf *subject, struct mail_buf *text,
                                   struct mail_buf *html)
{
    static const char *const intro =
        "Wij sturen geen berichten meer naar uw webhook. Uw systeem nam ze al dagen niet aan.";
    static const char *const next =
        "Nieuwe berichten bewaren wij. Zet de webhook weer aan als uw systeem het weer doet. "
        "Dan sturen wij alle bewaarde berichten alsnog. Vraag uw ICT-beheerder om hulp.";
    const char *url = str(data, "url"), *id = str(data, "endpoint_id");
    char since[64], link[1024];
    dutch_date(str(data, "failing_since"), since, sizeof since);
    snprintf(link, sizeof link, "%s/aanbieder/", public_url);
    mail_buf_printf(subject, "Uw webhook is uitgezet");
    mail_buf_printf(text, "Beste heer of mevrouw,\n\n%s\n\nAdres van de webhook: %s\n"
                          "Mislukt sinds: %s\nNummer van de webhook: %s\n\n%s\n\n"
                          "Naar uw overzicht:\n%s\n\n", intro, url, since, id, next, link);
    mail_buf_printf(text, "Met vriendelijke groet,\nLogeerzorg Drenthe\n\n"
                          "Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.\n");
    mail_buf_printf(html, "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
                          "<title>Uw webhook is uitgezet</title></head>\n<body>\n"
                          "<p>Beste heer of mevrouw,</p>\n<p>");
    mail_buf_add_html(html, intro);
    mail_buf_printf(html, "</p>\n<ul>\n<li>Adres van de webhook: ");
    mail_buf_add_html(html, url);
    mail_buf_printf(html, "</li>\n<li>Mislukt sinds: ");
    mail_buf_add_html(html, since);
    mail_buf_printf(html, "</li>\n<li>Nummer van de webhook: ");
    mail_buf_add_html(html, id);
    mail_buf_printf(html, "</li>\n</ul>\n<p>");
    mail_buf_add_html(html, next);
    mail_buf_printf(html, "</p>\n<p><a href=\"");
    mail_buf_add_html(html, link);
    mail_buf_printf(html, "\">Naar uw overzicht</a></p>\n<p>Met vriendelijke groet,<br>"
                          "Logeerzorg Drenthe</p>\n<p><small>Dit is een automatisch bericht. U "
                          "kunt niet op deze e-mail antwoorden.</small></p>\n</body></html>\n");
    return subject->failed || text->failed || html->failed ? -1 : 0;
}

int notify_text_render(const char *kind, const cJSON *data, const char *public_url,
                       struct mail_buf *subject, struct mail_buf *text, struct mail_buf *html)
{
    for (size_t i = 0; i < sizeof account_words / sizeof account_words[0]; i++)
        if (strcmp(account_words[i].kind, kind) == 0)
            return render_account(&account_words[i], data, subject, text, html);
    if (strcmp(kind, "webhook_disabled") == 0)
        return render_webhook_disabled(data, public_url, subject, text, html);
    const struct words *w = words_for(kind);
    if (!w)
        return -1;
    if (strcmp(kind, "capacity_stale_soon") == 0)
        return render_stale(w, data, public_url, subject, text, html);
    if (strcmp(kind, "weekly_digest") == 0)
        return render_digest(w, data, public_url, subject, text, html);
    const char *stay = str(data, "stay_id");
    char place[512], from[64], to[64], link[1024], intro[1024];
    const char *loc = str(data, "location_name"), *mun = str(data, "municipality");
    if (*loc && *mun)
        snprintf(place, sizeof place, "%s in %s", loc, mun);
    else
        snprintf(place, sizeof place, "%s", *loc ? loc : "de zorgaanbieder");
    dutch_date(str(data, "check_in"), from, sizeof from);
    dutch_date(str(data, "check_out"), to, sizeof to);
    snprintf(link, sizeof link, "%s%s#stay-%s", public_url,
             w->staff ? "/aanbieder/" : "/mijn-logeerplekken.html", stay);
    snprintf(intro, sizeof intro, w->intro, place);
    const char *reason = strcmp(kind, "request_declined") == 0 ? str(data, "decline_reason") : "";
    const char *expires = strcmp(kind, "waitlist_offer") == 0 ? str(data, "hold_expires_local") : "";

    mail_buf_printf(subject, "%s", w->subject);

    mail_buf_printf(text, "Beste heer of mevrouw,\n\n%s\n\n", intro);
    mail_buf_printf(text, "Aankomst: %s\nVertrek: %s\n", from, to);
    if (*reason)
        mail_buf_printf(text, "Reden van de zorgaanbieder: %s\n", reason);
    if (*expires)
        mail_buf_printf(text, "Dit aanbod geldt tot %s.\n", expires);
    mail_buf_printf(text, "Nummer van het verblijf: %s\n\n%s\n\n%s:\n%s\n\n", stay, w->next,
                    w->button, link);
    mail_buf_printf(text, "Met vriendelijke groet,\nLogeerzorg Drenthe\n\n"
                          "Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.\n");

    mail_buf_printf(html, "<!DOCTYPE html>\n<html lang=\"nl\"><head><meta charset=\"utf-8\">"
                          "<title>");
    mail_buf_add_html(html, w->subject);
    mail_buf_printf(html, "</title></head>\n<body>\n<p>Beste heer of mevrouw,</p>\n<p>");
    mail_buf_add_html(html, intro);
    mail_buf_printf(html, "</p>\n<ul>\n<li>Aankomst: ");
    mail_buf_add_html(html, from);
    mail_buf_printf(html, "</li>\n<li>Vertrek: ");
    mail_buf_add_html(html, to);
    mail_buf_printf(html, "</li>\n");
    if (*reason) {
        mail_buf_printf(html, "<li>Reden van de zorgaanbieder: ");
        mail_buf_add_html(html, reason);
        mail_buf_printf(html, "</li>\n");
    }
    if (*expires) {
        mail_buf_printf(html, "<li>Dit aanbod geldt tot ");
        mail_buf_add_html(html, expires);
        mail_buf_printf(html, ".</li>\n");
    }
    mail_buf_printf(html, "<li>Nummer van het verblijf: ");
    mail_buf_add_html(html, stay);
    mail_buf_printf(html, "</li>\n</ul>\n<p>");
    mail_buf_add_html(html, w->next);
    mail_buf_printf(html, "</p>\n<p><a href=\"");
    mail_buf_add_html(html, link);
    mail_buf_printf(html, "\">");
    mail_buf_add_html(html, w->button);
    mail_buf_printf(html, "</a></p>\n<p>Met vriendelijke groet,<br>Logeerzorg Drenthe</p>\n"
                          "<p><small>Dit is een automatisch bericht. U kunt niet op deze e-mail "
                          "antwoorden.</small></p>\n</body></html>\n");
    return subject->failed || text->failed || html->failed ? -1 : 0;
}
