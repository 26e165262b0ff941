/* test_http_parse: the pure HTTP parser: request heads, framing decisions, limits and the
 * chunked decoder, each rule checked from literal bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logeer/http_parse.h"

static int failures;
static int checks;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                    \
            printf(__VA_ARGS__);                                                           \
            printf("\n");                                                                  \
        }                                                                                  \
    } while (0)

/* Parsed head plus the storage it points into. */
struct parsed {
    char buf[70000];
    char path[70000];
    struct http_header headers[300];
    struct http_head head;
    int rc;
};

static struct parsed P;

static int parse_lim(const char *text, const struct http_limits *lim)
{
    size_t len = strlen(text);
    if (len >= sizeof(P.buf))
        abort();
    memcpy(P.buf, text, len + 1);
    memset(&P.head, 0, sizeof(P.head));
    P.head.headers = P.headers;
    P.head.headers_cap = sizeof(P.headers) / sizeof(P.headers[0]);
    P.head.path_buf = P.path;
    P.head.path_cap = sizeof(P.path);
    P.rc = http_parse_head(P.buf, len, lim, &P.head);
    return P.rc == 0 ? 0 : P.head.status;
}

static int parse(const char *text)
{
    return parse_lim(text, NULL);
}

static const char *header(const char *name)
{
    for (size_t i = 0; i < P.head.nheaders; i++)
        if (strcasecmp(P.head.headers[i].name, name) == 0)
            return P.head.headers[i].value;
    return NULL;
}

#define EXPECT_STATUS(text, want, what)                                                    \
    do {                                                                                   \
        int got_ = parse(text);                                                            \
        CHECK(got_ == (want), "%s: want %d, got %d (%s)", what, want, got_,                \
              P.head.detail ? P.head.detail : "");                                         \
    } while (0)

static void test_good_get_is_parsed_with_path_query_and_headers(void)
{
    printf("good GET head: method, target, path, query, headers\n");
    int st = parse("GET /v1/pools/abc?from=2026-12-01&to=x HTTP/1.1\r\n"
                   "Host: example\r\n"
                   "Accept:  application/json \t\r\n"
                   "X-Empty:\r\n"
                   "\r\n");
    CHECK(st == 0, "status %d (%s)", st, P.head.detail ? P.head.detail : "");
    CHECK(P.head.method == HTTP_GET, "method %d", P.head.method);
    CHECK(strcmp(P.head.method_name, "GET") == 0, "method name");
    CHECK(strcmp(P.head.target, "/v1/pools/abc?from=2026-12-01&to=x") == 0, "target %s",
          P.head.target);
    CHECK(strcmp(P.head.path, "/v1/pools/abc") == 0, "path %s", P.head.path);
    CHECK(P.head.query && strcmp(P.head.query, "from=2026-12-01&to=x") == 0, "query");
    CHECK(P.head.nheaders == 3, "nheaders %zu", P.head.nheaders);
    CHECK(strcmp(header("accept"), "application/json") == 0, "value trimmed: '%s'",
          header("accept"));
    CHECK(header("x-empty") && strcmp(header("x-empty"), "") == 0, "empty value");
    CHECK(P.head.framing == HTTP_FRAMING_NONE, "no body");
    CHECK(P.head.keep_alive, "HTTP/1.1 keeps the connection by default");
    CHECK(P.head.version_minor == 1, "version");
    CHECK(!P.head.expect_continue, "no expect");
}

static void test_header_names_are_case_insensitive(void)
{
    printf("header names are case-insensitive for framing and lookup\n");
    int st = parse("POST /x HTTP/1.1\r\nhOsT: a\r\ncontent-LENGTH: 12\r\n"
                   "CONNECTION: Close\r\n\r\n");
    CHECK(st == 0, "status %d", st);
    CHECK(P.head.method == HTTP_POST, "POST");
    CHECK(P.head.framing == HTTP_FRAMING_LENGTH && P.head.content_length == 12, "length");
    CHECK(!P.head.keep_alive, "Connection: close honoured");
    CHECK(header("Content-Length") && strcmp(header("Content-Length"), "12") == 0, "lookup");
}

static void test_good_post_with_expect_continue(void)
{
    printf("POST with Content-Length and Expect: 100-continue\n");
    int st = parse("POST /v1/stays HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                   "Expect: 100-Continue\r\n\r\n");
    CHECK(st == 0, "status %d", st);
    CHECK(P.head.framing == HTTP_FRAMING_LENGTH && P.head.content_length == 0, "zero length");
    CHECK(P.head.expect_continue, "expect continue");
    CHECK(P.head.query == NULL, "no query");
}

static void test_methods_map_and_unknown_is_other(void)
{
    printf("methods: known names map, unknown tokens are OTHER, lower case is not GET\n");
    const char *names[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    for (int m = 0; m < 7; m++) {
        CHECK(http_method_from_name(names[m], strlen(names[m])) == (enum http_method)m, "%s",
              names[m]);
        CHECK(strcmp(http_method_name((enum http_method)m), names[m]) == 0, "name %s",
              names[m]);
    }
    CHECK(http_method_from_name("get", 3) == HTTP_METHOD_OTHER, "case-sensitive");
    CHECK(http_method_from_name("GETX", 3) == HTTP_GET, "length respected");
    EXPECT_STATUS("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 0, "unknown method token");
    CHECK(P.head.method == HTTP_METHOD_OTHER && strcmp(P.head.method_name, "BREW") == 0,
          "OTHER with name");
    EXPECT_STATUS("GE(T /x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "method not a token");
}

static void test_bare_lf_heads_are_tolerated(void)
{
    printf("bare LF line ends are tolerated in the head\n");
    const char *t = "GET /a HTTP/1.1\nHost: a\nX-A: b\n\n";
    CHECK(http_head_end(t, strlen(t), 0) == strlen(t), "head end with LFLF");
    EXPECT_STATUS(t, 0, "bare LF head");
    CHECK(strcmp(header("x-a"), "b") == 0, "value");
    const char *mixed = "GET /a HTTP/1.1\r\nHost: a\n\r\n";
    CHECK(http_head_end(mixed, strlen(mixed), 0) == strlen(mixed), "mixed end");
    EXPECT_STATUS(mixed, 0, "mixed line ends");
}

static void test_head_end_is_found_incrementally(void)
{
    printf("http_head_end finds the end across partial buffers\n");
    const char *t = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next";
    size_t want = strlen("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    size_t from = 0;
    size_t found = 0;
    for (size_t len = 1; len <= strlen(t) && !found; len++) {
        found = http_head_end(t, len, from);
        from = len >= 2 ? len - 2 : 0;
    }
    CHECK(found == want, "found %zu want %zu", found, want);
    CHECK(http_head_end("GET / HTTP/1.1\r\nHost: a\r\n", 25, 0) == 0, "not yet");
}

static void test_content_length_and_transfer_encoding_together_is_400(void)
{
    printf("Content-Length with Transfer-Encoding (smuggling shape) -> 400\n");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n", 400, "CL then TE");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                  "Content-Length: 5\r\n\r\n", 400, "TE then CL");
}

static void test_duplicate_content_length_is_400_even_when_equal(void)
{
    printf("duplicate Content-Length -> 400, even with equal values\n");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                  400, "equal duplicates");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                  400, "different duplicates");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400,
                  "list value");
}

static void test_bad_content_length_values_are_400(void)
{
    printf("Content-Length must be plain digits without overflow\n");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, "-1");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400, "+1");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1a\r\n\r\n", 400, "1a");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400, "hex");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400, "space");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "empty");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n",
                  400, "overflow");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n",
                  0, "UINT64_MAX parses (the server then answers 413)");
    CHECK(P.head.content_length == UINT64_MAX, "max value");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
                  400, "UINT64_MAX + 1");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", 0,
                  "leading zeros are digits");
    CHECK(P.head.content_length == 7, "007 = 7");
}

static void test_transfer_codings(void)
{
    printf("Transfer-Encoding: chunked only; others 501; malformed 400\n");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
                  "chunked");
    CHECK(P.head.framing == HTTP_FRAMING_CHUNKED, "chunked framing");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", 0,
                  "coding names are case-insensitive");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "gzip");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
                  "gzip, chunked");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                  400, "chunked twice");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n", 400, "chunked twice over two lines");
    EXPECT_STATUS("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400, "empty TE");
    EXPECT_STATUS("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                  "TE in HTTP/1.0");
}

static void test_versions(void)
{
    printf("versions: 1.0 and 1.1 only; other numbers 505; garbage 400\n");
    EXPECT_STATUS("GET / HTTP/1.0\r\n\r\n", 0, "1.0 without Host");
    CHECK(P.head.version_minor == 0 && !P.head.keep_alive, "1.0 closes by default");
    EXPECT_STATUS("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0, "1.0 keep-alive");
    CHECK(P.head.keep_alive, "1.0 keep-alive honoured");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n", 0,
                  "close wins");
    CHECK(!P.head.keep_alive, "close wins over keep-alive");
    EXPECT_STATUS("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "2.0");
    EXPECT_STATUS("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "1.2");
    EXPECT_STATUS("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "0.9");
    EXPECT_STATUS("GET / HTTP/1\r\nHost: a\r\n\r\n", 400, "HTTP/1");
    EXPECT_STATUS("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "lower-case name");
    EXPECT_STATUS("GET /\r\n\r\n", 400, "no version (HTTP/0.9 style)");
    EXPECT_STATUS("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "double space");
    EXPECT_STATUS("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "trailing space");
}

static void test_host_rules(void)
{
    printf("HTTP/1.1 needs exactly one Host\n");
    EXPECT_STATUS("GET / HTTP/1.1\r\n\r\n", 400, "missing Host");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Hosts");
}

static void test_header_syntax_errors(void)
{
    printf("header syntax: obs-fold, space before colon, controls, bad names -> 400\n");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400, "obs-fold SP");
    CHECK(strstr(P.head.detail, "folding") != NULL, "obs-fold named as such: %s", P.head.detail);
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc: d\r\n\r\n", 400, "obs-fold HTAB");
    CHECK(strstr(P.head.detail, "folding") != NULL, "obs-fold named as such: %s", P.head.detail);
    EXPECT_STATUS("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "space before first header");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space before colon");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "tab before colon");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01\r\n\r\n", 400, "SOH in value");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n", 400, "DEL in value");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400, "bare CR in value");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400, "name not a token");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "empty name");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "no colon");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\r\n\r\n", 0,
                  "obs-text (UTF-8) in a value is allowed");
    EXPECT_STATUS("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control in request line");
    EXPECT_STATUS("\r\n", 400, "empty request line");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\n\r\nextra", 400, "bytes after the head");
}

static void test_header_limits_answer_431(void)
{
    printf("over max_headers or max_header_bytes -> 431\n");
    struct http_limits lim = {.max_headers = 3, .max_header_bytes = 200};
    CHECK(parse_lim("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", &lim) == 0,
          "exactly max_headers");
    CHECK(parse_lim("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &lim) == 431,
          "one over max_headers");
    char big[400];
    snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: %0200d\r\n\r\n", 7);
    CHECK(parse_lim(big, &lim) == 431, "over max_header_bytes");

    /* The defaults: 100 headers. */
    static char flood[20000];
    size_t o = (size_t)snprintf(flood, sizeof(flood), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(flood + o, sizeof(flood) - o, "X-%d: v\r\n", i);
    snprintf(flood + o, sizeof(flood) - o, "\r\n");
    CHECK(parse(flood) == 431, "101 headers with the default limit: %d", P.head.status);

    /* A caller-provided array smaller than the limit also stops parsing safely. */
    struct http_header two[2];
    char buf[] = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
    char path[64];
    struct http_head h = {.headers = two, .headers_cap = 2, .path_buf = path,
                          .path_cap = sizeof(path)};
    CHECK(http_parse_head(buf, strlen(buf), NULL, &h) != 0 && h.status == 431,
          "headers_cap respected");
}

static void test_targets_and_percent_decoding(void)
{
    printf("targets: origin form, asterisk for OPTIONS, percent-decoding, %%00 refused\n");
    EXPECT_STATUS("GET /a%20b/%C3%A9?q=%20x HTTP/1.1\r\nHost: a\r\n\r\n", 0, "escapes");
    CHECK(strcmp(P.head.path, "/a b/\xc3\xa9") == 0, "decoded path '%s'", P.head.path);
    CHECK(strcmp(P.head.query, "q=%20x") == 0, "raw query kept");
    CHECK(strcmp(P.head.target, "/a%20b/%C3%A9?q=%20x") == 0, "raw target kept");
    EXPECT_STATUS("GET /a+b%2cc HTTP/1.1\r\nHost: a\r\n\r\n", 0, "plus and lower-case hex");
    CHECK(strcmp(P.head.path, "/a+b,c") == 0, "path '%s'", P.head.path);
    EXPECT_STATUS("GET /v1/stays/a%2fconfirm HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                  "an encoded '/' would pass for a separator");
    EXPECT_STATUS("GET /v1/stays/a%2Fconfirm HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%2F");
    EXPECT_STATUS("GET /x? HTTP/1.1\r\nHost: a\r\n\r\n", 0, "empty query");
    CHECK(P.head.query && P.head.query[0] == '\0', "empty query is \"\"");
    EXPECT_STATUS("GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%00");
    EXPECT_STATUS("GET /a%zzb HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad hex");
    EXPECT_STATUS("GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "truncated escape");
    EXPECT_STATUS("GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", 400, "lone percent");
    EXPECT_STATUS("GET /a?q=%C3%A9+x&b HTTP/1.1\r\nHost: a\r\n\r\n", 0, "UTF-8 query");
    CHECK(strcmp(P.head.query, "q=%C3%A9+x&b") == 0, "query stays encoded");
    EXPECT_STATUS("GET http://h/x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "absolute form");
    EXPECT_STATUS("GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400, "relative target");
    EXPECT_STATUS("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment");
    EXPECT_STATUS("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "raw non-ASCII");
    EXPECT_STATUS("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0, "asterisk for OPTIONS");
    CHECK(strcmp(P.head.path, "*") == 0 && P.head.query == NULL, "asterisk path");
    EXPECT_STATUS("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "asterisk for GET");
}

static void test_text_that_is_not_utf8_is_400(void)
{
    printf("path, query and header values must be UTF-8; malformed query escapes -> 400\n");
    EXPECT_STATUS("GET /v1/x/%FF%FE HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%FF%FE in the path");
    CHECK(strstr(P.head.detail, "UTF-8") != NULL, "named: %s", P.head.detail);
    EXPECT_STATUS("GET /%C0%AF HTTP/1.1\r\nHost: a\r\n\r\n", 400, "overlong in the path");
    EXPECT_STATUS("GET /%ED%A0%80 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "surrogate in the path");
    EXPECT_STATUS("GET /%C3 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "cut sequence in the path");
    EXPECT_STATUS("GET /v1/users?email=%FF%FE HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                  "%FF%FE in a query value");
    CHECK(strstr(P.head.detail, "query") != NULL, "named: %s", P.head.detail);
    EXPECT_STATUS("GET /a?%FF=1 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "in a query name");
    EXPECT_STATUS("GET /a?q=%C3&r=%A9 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
                  "a sequence cut by '&'");
    EXPECT_STATUS("GET /a?q=%00 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "%00 in the query");
    EXPECT_STATUS("GET /a?x=%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bad escape in the query");
    EXPECT_STATUS("GET /a?x=%4 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "truncated query escape");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: caf\xe9\r\n\r\n", 400,
                  "Latin-1 in a header value");
    CHECK(strstr(P.head.detail, "header") != NULL, "named: %s", P.head.detail);
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: \xf0\x9f\x98\r\n\r\n", 400,
                  "cut 4-byte sequence in a header value");
    EXPECT_STATUS("GET / HTTP/1.1\r\nHost: a\r\nX-A: \xf0\x9f\x98\x80 ok\r\n\r\n", 0,
                  "an emoji in a header value is fine");
}

static void test_status_reasons(void)
{
    printf("every status we use has its reason phrase\n");
    int codes[] = {100, 200, 201, 202, 204, 301, 304, 400, 401, 403, 404, 405, 406, 408, 409,
                   410, 412, 413, 414, 415, 422, 428, 429, 431, 500, 501, 502, 503, 504, 505};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        CHECK(strcmp(http_status_reason(codes[i]), "Unknown") != 0, "reason for %d", codes[i]);
    CHECK(strcmp(http_status_reason(413), "Content Too Large") == 0, "413 phrase");
    CHECK(strcmp(http_status_reason(799), "Unknown") == 0, "unknown");
}

static void test_limits_defaults(void)
{
    printf("zero limits resolve to the documented defaults\n");
    struct http_limits in = {.max_body = 5};
    struct http_limits out;
    http_limits_resolve(&in, &out);
    CHECK(out.max_body == 5 && out.max_header_bytes == 16384 && out.max_headers == 100 &&
              out.header_timeout_ms == 10000 && out.body_timeout_ms == 30000 &&
              out.idle_timeout_ms == 60000 && out.write_timeout_ms == 30000 &&
              out.max_connections == 4096,
          "defaults");
}

/* ---- chunked ---- */

/* Feeds text to a fresh decoder in pieces of at most step bytes; returns the final state and
 * collects the decoded body. */
static enum http_chunked_state chunked_run(const char *text, size_t len, size_t step,
                                           const struct http_limits *lim, char *out,
                                           size_t *out_len, size_t *consumed,
                                           struct http_chunked *c)
{
    http_chunked_init(c, lim);
    *out_len = 0;
    size_t pos = 0;
    while (pos < len && c->state != HTTP_CHUNKED_DONE && c->state != HTTP_CHUNKED_ERROR) {
        size_t piece = len - pos < step ? len - pos : step;
        size_t off = 0;
        while (off < piece && c->state != HTTP_CHUNKED_DONE &&
               c->state != HTTP_CHUNKED_ERROR) {
            const char *data;
            size_t dlen;
            size_t used = http_chunked_feed(c, text + pos + off, piece - off, &data, &dlen);
            memcpy(out + *out_len, data ? data : "", dlen);
            *out_len += dlen;
            off += used;
        }
        pos += off;
    }
    *consumed = pos;
    out[*out_len] = '\0';
    return c->state;
}

static void test_chunked_decodes_in_every_split(void)
{
    printf("chunked body decodes identically however the input is split\n");
    const char *text = "5\r\nhello\r\n1;name=val;x=\"q s\"\r\n \r\n"
                       "10\r\n0123456789abcdef\r\n0\r\nX-Trailer: yes\r\n\r\nGET /next";
    size_t body_end = strlen(text) - strlen("GET /next");
    for (size_t step = 1; step <= strlen(text); step++) {
        struct http_chunked c;
        char out[256];
        size_t out_len, consumed;
        enum http_chunked_state st =
            chunked_run(text, strlen(text), step, NULL, out, &out_len, &consumed, &c);
        CHECK(st == HTTP_CHUNKED_DONE, "step %zu: state %d (%s)", step, st,
              c.detail ? c.detail : "");
        CHECK(strcmp(out, "hello 0123456789abcdef") == 0, "step %zu: body '%s'", step, out);
        CHECK(consumed == body_end, "step %zu: stops at the end (%zu vs %zu)", step,
              consumed, body_end);
    }
}

static int chunked_status(const char *text, const struct http_limits *lim)
{
    struct http_chunked c;
    char out[4096];
    size_t out_len, consumed;
    enum http_chunked_state st =
        chunked_run(text, strlen(text), strlen(text) + 1, lim, out, &out_len, &consumed, &c);
    if (st == HTTP_CHUNKED_DONE)
        return 0;
    if (st == HTTP_CHUNKED_ERROR)
        return c.status;
    return -1; /* wants more input */
}

static void test_chunked_errors(void)
{
    printf("chunked errors: bad hex, overflow, limits, bad line ends, bad trailers\n");
    CHECK(chunked_status("0\r\n\r\n", NULL) == 0, "empty body");
    CHECK(chunked_status("A\r\n0123456789\r\n0\r\n\r\n", NULL) == 0, "upper-case hex");
    CHECK(chunked_status("000\r\n\r\n", NULL) == 0, "zeros as last chunk");
    CHECK(chunked_status("5\r\nhel", NULL) == -1, "incomplete wants more");
    CHECK(chunked_status("g\r\n", NULL) == 400, "bad hex");
    CHECK(chunked_status("\r\n", NULL) == 400, "no digits");
    CHECK(chunked_status("-5\r\n", NULL) == 400, "sign");
    CHECK(chunked_status("0x5\r\nhello\r\n0\r\n\r\n", NULL) == 400, "0x prefix");
    CHECK(chunked_status("5\nhello\r\n0\r\n\r\n", NULL) == 400, "bare LF after size");
    CHECK(chunked_status("5\rXhello\r\n0\r\n\r\n", NULL) == 400, "CR then not LF after size");
    CHECK(chunked_status("5;x\rhello\r\n0\r\n\r\n", NULL) == 400, "bare CR after ext");
    CHECK(chunked_status("5\r\nhello\r\n0\r\n\rX", NULL) == 400, "bare CR at the end");
    CHECK(chunked_status("5\r\nhello\n0\r\n\r\n", NULL) == 400, "bare LF after data");
    CHECK(chunked_status("5\r\nhelloX\r\n0\r\n\r\n", NULL) == 400, "data longer than size");
    CHECK(chunked_status("5;a\x01\r\nhello\r\n0\r\n\r\n", NULL) == 400, "control in ext");
    CHECK(chunked_status("5 \t;a=b\r\nhello\r\n0 \r\n\r\n", NULL) == 0, "white space before ';'");
    CHECK(chunked_status("5 x\r\nhello\r\n0\r\n\r\n", NULL) == 400, "junk after the size");
    CHECK(chunked_status("5 5\r\nhello\r\n0\r\n\r\n", NULL) == 400, "two numbers");
    CHECK(chunked_status("5\r\nhello\r\n0\r\n\n", NULL) == 400, "bare LF at the end");
    CHECK(chunked_status("0\r\nX-A: b\r\n c\r\n\r\n", NULL) == 400, "obs-fold in trailer");
    CHECK(chunked_status("0\r\nX A: b\r\n\r\n", NULL) == 400, "bad trailer name");
    CHECK(chunked_status("0\r\nX-A: b\x01\r\n\r\n", NULL) == 400, "control in trailer");
    CHECK(chunked_status("0\r\nX-A: b\r\nY: c\r\n\r\n", NULL) == 0, "two trailers");

    struct http_limits small = {.max_body = 10, .max_header_bytes = 20};
    CHECK(chunked_status("A\r\n0123456789\r\n0\r\n\r\n", &small) == 0, "exactly max_body");
    CHECK(chunked_status("6\r\n012345\r\n5\r\n", &small) == 413, "total over max_body");
    CHECK(chunked_status("B\r\n", &small) == 413, "one chunk over max_body, before its data");
    CHECK(chunked_status("FFFFFFFFFFFFFFFFFFFF\r\n", NULL) == 413, "huge size -> 413");
    CHECK(chunked_status("0\r\nX-Long: 0123456789012345678901\r\n\r\n", &small) == 431,
          "trailers over the head limit");

    struct http_limits huge = {.max_body = SIZE_MAX};
    CHECK(chunked_status("10000000000000000\r\n", &huge) == 400,
          "size over 64 bits -> 400 even with no body limit");

    static char longext[HTTP_MAX_CHUNK_LINE + 100];
    memset(longext, 'a', sizeof(longext) - 1);
    longext[0] = '1';
    longext[1] = ';';
    longext[sizeof(longext) - 1] = '\0';
    CHECK(chunked_status(longext, NULL) == 400, "endless chunk extension");
}

int main(void)
{
    test_good_get_is_parsed_with_path_query_and_headers();
    test_header_names_are_case_insensitive();
    test_good_post_with_expect_continue();
    test_methods_map_and_unknown_is_other();
    test_bare_lf_heads_are_tolerated();
    test_head_end_is_found_incrementally();
    test_content_length_and_transfer_encoding_together_is_400();
    test_duplicate_content_length_is_400_even_when_equal();
    test_bad_content_length_values_are_400();
    test_transfer_codings();
    test_versions();
    test_host_rules();
    test_header_syntax_errors();
    test_header_limits_answer_431();
    test_targets_and_percent_decoding();
    test_text_that_is_not_utf8_is_400();
    test_status_reasons();
    test_limits_defaults();
    test_chunked_decodes_in_every_split();
    test_chunked_errors();
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
