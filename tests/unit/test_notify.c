/* Proves the pure parts of notifications: the Standard Webhooks signature against the
 * specification's own example, secrets that seal and open only under their key, the address
 * rules that keep webhooks off private networks, email addresses and headers that cannot carry
 * a second header, the MIME shape of a message, the Dutch texts without health data, and the
 * backoff schedule. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "logeer/mail.h"
#include "logeer/notify.h"
#include "logeer/notify_text.h"
#include "logeer/webhook.h"

static bool v4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, text, &a.sin_addr);
    return webhook_address_public((struct sockaddr *)&a);
}

static bool v6(const char *text)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, text, &a.sin6_addr);
    return webhook_address_public((struct sockaddr *)&a);
}

static void test_signature(void)
{
    /* The example of the Standard Webhooks specification (and its reference libraries). */
    const char *body = "{\"test\": 2432232314}";
    char sig[WEBHOOK_SIGNATURE_LEN];
    CHECK(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                       1614265330, body, strlen(body), sig) == 0);
    CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    CHECK(webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "x", 1, "", 0, sig) != 0);
    CHECK(webhook_sign("whsec_***", "x", 1, "", 0, sig) != 0);
}

static void test_secrets(void)
{
    char secret[WEBHOOK_SECRET_LEN], sealed[WEBHOOK_SEALED_HEX_MAX], back[WEBHOOK_SECRET_LEN];
    webhook_key_init(NULL);
    CHECK(!webhook_key_present());
    CHECK(webhook_secret_new(secret) == 0);
    CHECK(webhook_secret_seal(secret, sealed) != 0); /* no server key: nothing is sealed */
    webhook_key_init("unit test key");
    CHECK(webhook_key_present());
    CHECK(strncmp(secret, "whsec_", 6) == 0 && strlen(secret) == 6 + 32);
    CHECK(webhook_secret_seal(secret, sealed) == 0);
    CHECK(strstr(sealed, secret + 6) == NULL);
    CHECK(webhook_secret_open(sealed, webhook_key_id(), back) == 0);
    CHECK_STR(back, secret);
    sealed[30] = sealed[30] == '0' ? '1' : '0';
    CHECK(webhook_secret_open(sealed, webhook_key_id(), back) != 0); /* tampered */
    CHECK(webhook_secret_open(sealed, "dev", back) != 0);           /* other key */
    char again[WEBHOOK_SEALED_HEX_MAX];
    CHECK(webhook_secret_seal(secret, again) == 0);
    CHECK(strcmp(again, sealed) != 0); /* a fresh nonce every time */
}

static void test_addresses(void)
{
    CHECK(v4("93.184.216.34"));
    CHECK(!v4("127.0.0.1"));
    CHECK(!v4("10.0.0.8"));
    CHECK(!v4("172.16.5.4"));
    CHECK(v4("172.32.0.1"));
    CHECK(!v4("192.168.1.1"));
    CHECK(!v4("169.254.169.254"));
    CHECK(!v4("100.64.0.1"));
    CHECK(!v4("0.0.0.0"));
    CHECK(!v4("255.255.255.255"));
    CHECK(v6("2a00:1450:4001:80b::200e"));
    CHECK(!v6("::1"));
    CHECK(!v6("::"));
    CHECK(!v6("fd00::1"));
    CHECK(!v6("fe80::1"));
    CHECK(!v6("::ffff:127.0.0.1"));
    CHECK(!v6("::ffff:10.1.1.1"));
    CHECK(v6("::ffff:93.184.216.34"));
    CHECK(!v6("64:ff9b::a00:1"));
    CHECK(webhook_url_problem("https://hooks.example.org/x", false) == NULL);
    CHECK(webhook_url_problem("http://127.0.0.1:8080/x", false) != NULL);
    CHECK(webhook_url_problem("http://127.0.0.1:8080/x", true) == NULL);
    CHECK(webhook_url_problem("http://LOCALHOST/x", false) != NULL);
    CHECK(webhook_url_problem("http://db.internal/x", false) != NULL);
    CHECK(webhook_url_problem("http://[::1]/x", false) != NULL);
    CHECK(webhook_url_problem("http://2130706433/x", false) != NULL); /* 127.0.0.1 as a number */
    CHECK(webhook_url_problem("file:///etc/passwd", true) != NULL);
    CHECK(webhook_url_problem("gopher://example.org/", true) != NULL);
    CHECK(webhook_url_problem("https://u:p@example.org/", true) != NULL);
    CHECK(webhook_url_problem("https://example.org/a b", true) != NULL);
    CHECK(webhook_url_problem("https://example.org/\r\nX: y", true) != NULL);
    CHECK(webhook_url_problem("not a url", true) != NULL);
}

static void test_mail(void)
{
    CHECK(mail_address_ok("a.b@example.nl"));
    CHECK(!mail_address_ok("a@b"));
    CHECK(!mail_address_ok("a b@example.nl"));
    CHECK(!mail_address_ok("a@example.nl\r\nBcc: x@y.nl"));
    CHECK(!mail_address_ok("<a@example.nl>"));
    CHECK(!mail_address_ok("a@b@example.nl"));
    CHECK(!mail_address_ok("a,b@example.nl"));
    char name[64], addr[64];
    CHECK(mail_from_parse("Logeerzorg <noreply@logeer.nl>", name, sizeof name, addr, sizeof addr));
    CHECK_STR(name, "Logeerzorg");
    CHECK_STR(addr, "noreply@logeer.nl");
    CHECK(!mail_from_parse("X <bad>", name, sizeof name, addr, sizeof addr));

    struct mail_buf b = {0};
    mail_header_text(&b, "Uw aanvraag is ontvangen");
    CHECK_STR(b.text, "Uw aanvraag is ontvangen");
    mail_buf_free(&b);
    mail_header_text(&b, "Caf\xc3\xa9\r\nBcc: x@y.nl");
    CHECK(strncmp(b.text, "=?UTF-8?B?", 10) == 0);
    CHECK(strstr(b.text, "Bcc") == NULL);
    mail_buf_free(&b);

    struct mail_parts p = {.from_name = "Logeerzorg", .from_addr = "noreply@logeer.nl",
                           .to_addr = "mz@example.nl", .subject = "Uw logeerplek is geboekt",
                           .message_id = "0b6a7c1e-1111-4222-8333-444455556666",
                           .id_domain = "logeer.nl", .text = "Hallo\nDag",
                           .html = "<p>Hallo</p>", .date = 1790000000};
    CHECK(mail_build(&b, &p) == 0);
    CHECK(strstr(b.text, "Message-ID: <0b6a7c1e-1111-4222-8333-444455556666@logeer.nl>\r\n"));
    CHECK(strstr(b.text, "Content-Type: multipart/alternative;"));
    CHECK(strstr(b.text, "Content-Type: text/plain; charset=UTF-8"));
    CHECK(strstr(b.text, "Content-Type: text/html; charset=UTF-8"));
    CHECK(strstr(b.text, "\r\nTo: <mz@example.nl>\r\n"));
    mail_buf_free(&b);
    p.to_addr = "mz@example.nl>\r\nBcc: <x@y.nl";
    CHECK(mail_build(&b, &p) != 0);
    p.to_addr = "mz@example.nl";
    p.message_id = "x>\r\nBcc: y";
    CHECK(mail_build(&b, &p) != 0);
}

static void test_texts(void)
{
    cJSON *data = cJSON_Parse("{\"stay_id\":\"5a5a\",\"check_in\":\"2026-12-04\","
                              "\"check_out\":\"2026-12-07\",\"location_name\":\"De Es <b>\","
                              "\"municipality\":\"Assen\",\"decline_reason\":\"Vol\","
                              "\"hold_expires_local\":\"05-12-2026 om 10:00\"}");
    for (unsigned i = 0; i < notify_nkinds; i++) {
        /* Every kind about one stay; the two about a pool or a week and the one about an
         * endpoint have their own checks. */
        if (strcmp(notify_kinds[i].name, "capacity_stale_soon") == 0 ||
            strcmp(notify_kinds[i].name, "weekly_digest") == 0 ||
            strcmp(notify_kinds[i].name, "webhook_disabled") == 0)
            continue;
        struct mail_buf s = {0}, t = {0}, h = {0};
        CHECK(notify_text_render(notify_kinds[i].name, data, "https://x.nl", &s, &t, &h) == 0);
        CHECK(t.text && strstr(t.text, "vrijdag 4 december 2026"));
        CHECK(t.text && strstr(t.text, "#stay-5a5a"));
        CHECK(h.text && strstr(h.text, "De Es &lt;b&gt;") && !strstr(h.text, "<b>"));
        mail_buf_free(&s);
        mail_buf_free(&t);
        mail_buf_free(&h);
    }
    struct mail_buf s = {0}, t = {0}, h = {0};
    CHECK(notify_text_render("request_declined", data, "https://x.nl", &s, &t, &h) == 0);
    CHECK(strstr(t.text, "Reden van de zorgaanbieder: Vol"));
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    CHECK(notify_text_render("waitlist_offer", data, "https://x.nl", &s, &t, &h) == 0);
    CHECK(strstr(t.text, "Dit aanbod geldt tot 05-12-2026 om 10:00."));
    CHECK(strstr(t.text, "/mijn-logeerplekken.html#stay-5a5a"));
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    CHECK(notify_text_render("no_such_kind", data, "https://x.nl", &s, &t, &h) != 0);
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    cJSON_Delete(data);
}

/* The nudge and the digest: their figures and names, escaped in HTML, and a link to the
 * staff's or the coordinator's page. */
static void test_pool_and_week_texts(void)
{
    cJSON *pool = cJSON_Parse("{\"pool_id\":\"77aa\",\"pool_name\":\"Kamers <i>\","
                              "\"location_name\":\"De Es\",\"municipality\":\"Assen\","
                              "\"stale_at_local\":\"11-12-2026 om 09:30\"}");
    struct mail_buf s = {0}, t = {0}, h = {0};
    CHECK(notify_text_render("capacity_stale_soon", pool, "https://x.nl", &s, &t, &h) == 0);
    CHECK(strstr(t.text, "Verouderd vanaf: 11-12-2026 om 09:30"));
    CHECK(strstr(t.text, "nummer 77aa") && strstr(t.text, "https://x.nl/aanbieder/"));
    CHECK(strstr(h.text, "Kamers &lt;i&gt;") && !strstr(h.text, "<i>"));
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    cJSON_Delete(pool);

    cJSON *week = cJSON_Parse("{\"period_from\":\"2026-11-27\",\"period_to\":\"2026-12-04\","
                              "\"diversions\":3,\"searches_without_result\":12,"
                              "\"requests_declined\":1,\"waitlisted\":4,"
                              "\"stale_providers\":[\"Zorg & Co\",\"De Hof\"]}");
    CHECK(notify_text_render("weekly_digest", week, "https://x.nl", &s, &t, &h) == 0);
    CHECK(strstr(t.text, "vrijdag 27 november 2026 tot en met vrijdag 4 december 2026"));
    CHECK(strstr(t.text, "Crisisopnames in een planbaar bed: 3"));
    CHECK(strstr(t.text, "Zoekvragen zonder vrije plek: 12"));
    CHECK(strstr(t.text, "Zorgaanbieders met verouderde aantallen: Zorg & Co, De Hof"));
    CHECK(strstr(h.text, "Zorg &amp; Co") && strstr(h.text, "https://x.nl/dashboard/"));
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    cJSON_Delete(week);
    week = cJSON_Parse("{\"stale_providers\":[]}");
    CHECK(notify_text_render("weekly_digest", week, "https://x.nl", &s, &t, &h) == 0);
    CHECK(strstr(t.text, "verouderde aantallen: geen"));
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    cJSON_Delete(week);
}

/* The account emails: the link in both parts (HTML-escaped), how long it works, and no
 * mail at all without a link. They are not in notify_kinds, so nobody can switch them off. */
static void test_account_texts(void)
{
    cJSON *data = cJSON_Parse("{\"link\":\"https://x.nl/nieuw-wachtwoord.html#token=ab&c\","
                              "\"valid_minutes\":\"30\"}");
    const char *const kinds[] = {"password_reset", "email_verify"};
    for (unsigned i = 0; i < 2; i++) {
        struct mail_buf s = {0}, t = {0}, h = {0};
        CHECK(notify_text_is_account_kind(kinds[i]));
        CHECK(notify_kind_find(kinds[i]) == NULL);
        CHECK(notify_text_render(kinds[i], data, "https://x.nl", &s, &t, &h) == 0);
        CHECK(t.text && strstr(t.text, "https://x.nl/nieuw-wachtwoord.html#token=ab&c\n"));
        CHECK(t.text && strstr(t.text, "De link werkt 30 minuten en maar één keer."));
        CHECK(h.text && strstr(h.text, "href=\"https://x.nl/nieuw-wachtwoord.html#token=ab&amp;c\""));
        mail_buf_free(&s);
        mail_buf_free(&t);
        mail_buf_free(&h);
    }
    CHECK(!notify_text_is_account_kind("waitlist_offer"));
    cJSON *empty = cJSON_CreateObject();
    struct mail_buf s = {0}, t = {0}, h = {0};
    CHECK(notify_text_render("password_reset", empty, "https://x.nl", &s, &t, &h) != 0);
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    cJSON_Delete(empty);
    cJSON_Delete(data);
}

static void test_webhook_disabled_text(void)
{
    cJSON *data = cJSON_Parse("{\"endpoint_id\":\"e1e1\",\"url\":\"https://x.nl/h?a=1&b=<2>\","
                              "\"failing_since\":\"2026-12-04T08:00:00Z\"}");
    struct mail_buf s = {0}, t = {0}, h = {0};
    CHECK(notify_text_render("webhook_disabled", data, "https://x.nl", &s, &t, &h) == 0);
    CHECK(s.text && strcmp(s.text, "Uw webhook is uitgezet") == 0);
    CHECK(t.text && strstr(t.text, "Mislukt sinds: vrijdag 4 december 2026"));
    CHECK(t.text && strstr(t.text, "Nummer van de webhook: e1e1"));
    CHECK(t.text && strstr(t.text, "https://x.nl/aanbieder/"));
    CHECK(h.text && strstr(h.text, "a=1&amp;b=&lt;2&gt;") && !strstr(h.text, "<2>"));
    mail_buf_free(&s);
    mail_buf_free(&t);
    mail_buf_free(&h);
    cJSON_Delete(data);
}

static void test_backoff(void)
{
    CHECK(notify_backoff_s(1, 30, 21600, 0.5) == 30);
    CHECK(notify_backoff_s(2, 30, 21600, 0.5) == 60);
    CHECK(notify_backoff_s(5, 30, 21600, 0.5) == 480);
    CHECK(notify_backoff_s(40, 30, 21600, 0.5) == 21600);
    CHECK(notify_backoff_s(3, 30, 21600, 0.0) >= 0.8 * 120);
    CHECK(notify_backoff_s(3, 30, 21600, 0.999) < 1.2 * 120);
    /* A message fails only after an attempt later than the give-up time (26 h), so retries
     * go on for at least a day; with the shortest jitter that takes 10 to 20 attempts. */
    double total = 0;
    int attempts = 1;
    while (total < 26 * 3600.0)
        total += notify_backoff_s(attempts++, 30, 21600, 0.0);
    CHECK(attempts >= 10 && attempts <= 20);
}

int main(void)
{
    test_signature();
    test_secrets();
    test_addresses();
    test_mail();
    test_texts();
    test_pool_and_week_texts();
    test_account_texts();
    test_webhook_disabled_text();
    test_backoff();
    return check_done("notify");
}
