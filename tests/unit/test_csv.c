/* test_csv: RFC 4180 quoting, the formula guard and number formatting of the CSV writer that
 * the reports use, checked against literal expected bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/csv.h"

static int failures;
static int checks;

static void expect(const char *name, struct csv *c, const char *want)
{
    size_t len = 0;
    char *got = csv_take(c, &len);
    checks++;
    if (!got || len != strlen(want) || memcmp(got, want, len) != 0) {
        failures++;
        printf("FAIL %s: expected [%s], got [%s]\n", name, want, got ? got : "(null)");
    } else {
        printf("ok   %s\n", name);
    }
    free(got);
}

static void test_plain_fields_are_not_quoted(void)
{
    struct csv c;
    csv_init(&c);
    csv_text(&c, "section");
    csv_text(&c, "Assen");
    csv_number(&c, 42);
    csv_end_record(&c);
    expect("plain fields, comma separated, CRLF at the end of the record", &c,
           "section,Assen,42\r\n");
}

static void test_special_characters_are_quoted(void)
{
    struct csv c;
    csv_init(&c);
    csv_text(&c, "Zorgboerderij De Hondsrug, Dalen");
    csv_text(&c, "zei \"nee\"");
    csv_text(&c, "twee\nregels");
    csv_text(&c, "cr\rhere");
    csv_end_record(&c);
    expect("comma, quote, LF and CR make a quoted field with doubled quotes", &c,
           "\"Zorgboerderij De Hondsrug, Dalen\",\"zei \"\"nee\"\"\",\"twee\nregels\","
           "\"cr\rhere\"\r\n");
}

static void test_empty_and_null_fields(void)
{
    struct csv c;
    csv_init(&c);
    csv_text(&c, NULL);
    csv_text(&c, "");
    csv_text(&c, "x");
    csv_end_record(&c);
    csv_text(&c, "y");
    csv_text(&c, NULL);
    csv_end_record(&c);
    expect("NULL and empty strings are empty fields, also at the end", &c, ",,x\r\ny,\r\n");
}

static void test_formulas_are_defused(void)
{
    struct csv c;
    csv_init(&c);
    csv_text(&c, "=HYPERLINK(\"http://x\")");
    csv_text(&c, "+31");
    csv_text(&c, "-1");
    csv_text(&c, "@SUM(A1)");
    csv_text(&c, "a=b");
    csv_end_record(&c);
    expect("text starting with = + - @ gets an apostrophe (inside the quotes when quoted)", &c,
           "\"'=HYPERLINK(\"\"http://x\"\")\",'+31,'-1,'@SUM(A1),a=b\r\n");
}

static void test_numbers(void)
{
    struct csv c;
    csv_init(&c);
    csv_number(&c, 0);
    csv_number(&c, 33.3);
    csv_number(&c, 100);
    csv_number(&c, -0.0);
    csv_number(&c, 1234567);
    csv_number(&c, 2.25);
    csv_end_record(&c);
    expect("numbers: whole without decimals, others with a point, -0 as 0", &c,
           "0,33.3,100,0,1234567,2.25\r\n");
}

static void test_bom(void)
{
    struct csv c;
    csv_init(&c);
    csv_bom(&c);
    csv_text(&c, "één");
    csv_end_record(&c);
    expect("the byte order mark comes first; UTF-8 text passes unchanged", &c,
           "\xEF\xBB\xBF\xC3\xA9\xC3\xA9n\r\n");
}

int main(void)
{
    test_plain_fields_are_not_quoted();
    test_special_characters_are_quoted();
    test_empty_and_null_fields();
    test_formulas_are_defused();
    test_numbers();
    test_bom();
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
