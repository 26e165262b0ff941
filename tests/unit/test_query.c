/* Proves query-string lookup decodes values and flags malformed escapes. */
#include "check.h"
#include "logeer/query.h"

int main(void)
{
    char buf[64];
    bool bad;
    const char *q = "check_in=2026-12-04&nights=3&municipality=GM0106&name=De+Es%20Assen&empty=&flag";
    CHECK_STR(query_get(q, "nights", buf, sizeof buf, &bad), "3");
    CHECK_STR(query_get(q, "name", buf, sizeof buf, &bad), "De Es Assen");
    CHECK_STR(query_get(q, "empty", buf, sizeof buf, &bad), "");
    CHECK_STR(query_get(q, "flag", buf, sizeof buf, &bad), "");
    CHECK(query_get(q, "check", buf, sizeof buf, &bad) == NULL && !bad);
    CHECK(query_get(NULL, "x", buf, sizeof buf, &bad) == NULL);
    CHECK(query_get("x=%zz", "x", buf, sizeof buf, &bad) == NULL && bad);
    CHECK(query_get("x=%4", "x", buf, sizeof buf, &bad) == NULL && bad);
    CHECK(query_get("x=a%00b", "x", buf, sizeof buf, &bad) == NULL && bad);
    CHECK(query_get("x=abcdef", "x", buf, 4, &bad) == NULL && bad);
    CHECK_STR(query_get("a=1&x=%41%42", "x", buf, sizeof buf, &bad), "AB");
    CHECK_STR(query_get("x=1&x=2", "x", buf, sizeof buf, &bad), "1");
    /* A name is a whole key: not a prefix of a longer one, nor the start of one. */
    CHECK_STR(query_get("nightsx=1&nights=2", "nights", buf, sizeof buf, &bad), "2");
    CHECK_STR(query_get("a=1&ab=2", "ab", buf, sizeof buf, &bad), "2");
    CHECK_STR(query_get("ab=2&a=1", "a", buf, sizeof buf, &bad), "1");
    CHECK(query_get("nig", "nights", buf, sizeof buf, &bad) == NULL && !bad);
    CHECK(query_get("n&ni=1", "nights", buf, sizeof buf, &bad) == NULL && !bad);
    CHECK_STR(query_get("n=1&nights", "nights", buf, sizeof buf, &bad), "");
    CHECK_STR(query_get("&&x=1&", "x", buf, sizeof buf, &bad), "1");
    CHECK_STR(query_get("x==1", "x", buf, sizeof buf, &bad), "=1");
    CHECK(query_problem(NULL) == NULL);
    CHECK(query_problem("") == NULL);
    CHECK(query_problem(q) == NULL);
    CHECK(query_problem("a=%C3%A9&b=caf%C3%A9+au+lait&c") == NULL);
    CHECK(query_problem("email=%FF%FE") != NULL);
    CHECK(query_problem("%C3=1") != NULL);
    CHECK(query_problem("a=%C3&b=%A9") != NULL);
    CHECK(query_problem("a=%C3") != NULL);
    CHECK(query_problem("a=%00") != NULL);
    CHECK(query_problem("a=%zz") != NULL);
    CHECK(query_problem("a=%") != NULL);
    CHECK(query_problem("a=%4") != NULL);
    return check_done("query");
}
