/* Proves the iCalendar writer: CRLF after every line, no line over 75 octets, folds never
 * inside a UTF-8 character, unfolding gives back the line, TEXT escaped. */
#include <stdlib.h>

#include "check.h"
#include "logeer/ical.h"

/* Undoes the folding: removes every CRLF followed by a space. */
static char *unfold(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    for (; *s; s++) {
        if (s[0] == '\r' && s[1] == '\n' && s[2] == ' ') {
            s += 2;
            continue;
        }
        *o++ = *s;
    }
    *o = '\0';
    return out;
}

static void test_lines_end_in_crlf_and_fold_at_75_octets(void)
{
    struct ical c;
    ical_init(&c);
    ical_line(&c, "BEGIN", "VCALENDAR");
    /* 40 times "é" (2 octets each) after a 9-octet "SUMMARY:" start: must fold, never between
     * the two octets of an é. */
    char text[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(text, "\xc3\xa9");
    strcat(text, " en een lange staart van gewone letters om verder te vouwen");
    ical_text(&c, "SUMMARY", text);
    size_t len;
    char *s = ical_take(&c, &len);
    CHECK(s != NULL && len == strlen(s));
    CHECK(strncmp(s, "BEGIN:VCALENDAR\r\n", 17) == 0);
    /* Every line ends in CRLF, no bare LF, none longer than 75 octets. */
    size_t line = 0;
    int lines = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            CHECK(p > s && p[-1] == '\r');
            CHECK(line - 1 <= 75); /* line counted the CR */
            line = 0;
            lines++;
            /* A continuation line never starts with a UTF-8 continuation byte. */
            if (p[1] == ' ')
                CHECK(((unsigned char)p[2] & 0xC0) != 0x80);
            continue;
        }
        line++;
    }
    CHECK(line == 0);
    CHECK(lines >= 3);
    char *u = unfold(s);
    char want[300];
    snprintf(want, sizeof want, "BEGIN:VCALENDAR\r\nSUMMARY:%s\r\n", text);
    CHECK_STR(u, want);
    free(u);
    free(s);
}

static void test_text_is_escaped(void)
{
    struct ical c;
    ical_init(&c);
    ical_text(&c, "LOCATION", "Hoofdstraat 1, Assen; zij\\ingang\nachterom");
    ical_text(&c, "DESCRIPTION", NULL);
    size_t len;
    char *s = ical_take(&c, &len);
    CHECK_STR(s, "LOCATION:Hoofdstraat 1\\, Assen\\; zij\\\\ingang\\nachterom\r\n");
    free(s);
    ical_init(&c);
    s = ical_take(&c, &len);
    CHECK_STR(s, "");
    free(s);
}

int main(void)
{
    test_lines_end_in_crlf_and_fold_at_75_octets();
    test_text_is_escaped();
    return check_done("ical");
}
