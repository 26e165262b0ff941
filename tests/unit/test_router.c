/* Proves the router finds routes, extracts parameters, and answers 404 vs 405 with Allow. */
#include "check.h"
#include "logeer/router.h"

static const int h1 = 1, h2 = 2, h3 = 3, h4 = 4;
static const struct route routes[] = {
    {HTTP_GET, "/v1/pools", &h1, 0},
    {HTTP_POST, "/v1/pools", &h2, 0},
    {HTTP_GET, "/v1/pools/{id}/capacity", &h3, 0},
    {HTTP_PUT, "/v1/pools/{id}/capacity", &h4, 0},
    {HTTP_POST, "/v1/stays/{id}/{action}", &h1, 0},
};
#define N (sizeof routes / sizeof routes[0])

static void test_exact_and_parameter_matches(void)
{
    struct route_match m;
    CHECK(router_match(routes, N, HTTP_GET, "/v1/pools", &m) == ROUTE_FOUND);
    CHECK(m.route->handler == &h1);
    CHECK(router_match(routes, N, HTTP_POST, "/v1/pools", &m) == ROUTE_FOUND);
    CHECK(m.route->handler == &h2);
    CHECK(router_match(routes, N, HTTP_PUT, "/v1/pools/abc-123/capacity", &m) == ROUTE_FOUND);
    CHECK(m.route->handler == &h4);
    CHECK_STR(route_param(&m, "id"), "abc-123");
    CHECK(route_param(&m, "nope") == NULL);
    CHECK(router_match(routes, N, HTTP_POST, "/v1/stays/s1/confirm", &m) == ROUTE_FOUND);
    CHECK_STR(route_param(&m, "id"), "s1");
    CHECK_STR(route_param(&m, "action"), "confirm");
}

static void test_head_matches_get(void)
{
    struct route_match m;
    CHECK(router_match(routes, N, HTTP_HEAD, "/v1/pools", &m) == ROUTE_FOUND);
}

static void test_unknown_paths_are_not_found(void)
{
    struct route_match m;
    CHECK(router_match(routes, N, HTTP_GET, "/v1/pool", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(routes, N, HTTP_GET, "/v1/pools/", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(routes, N, HTTP_GET, "/v1/pools//capacity", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(routes, N, HTTP_GET, "/v1/pools/x/capacity/extra", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(routes, N, HTTP_GET, "/", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(routes, N, HTTP_GET, "", &m) == ROUTE_NOT_FOUND);
    char long_path[400] = "/v1/pools/";
    memset(long_path + 10, 'a', 200);
    strcat(long_path, "/capacity");
    CHECK(router_match(routes, N, HTTP_GET, long_path, &m) == ROUTE_NOT_FOUND);
}

static void test_wrong_method_lists_allowed_methods(void)
{
    struct route_match m;
    CHECK(router_match(routes, N, HTTP_DELETE, "/v1/pools", &m) == ROUTE_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET, HEAD, POST");
    CHECK(router_match(routes, N, HTTP_POST, "/v1/pools/7/capacity", &m) ==
          ROUTE_METHOD_NOT_ALLOWED);
    CHECK_STR(m.allow, "GET, HEAD, PUT");
}

/* "/v1/feeds/{token}.ics": the suffix must be there, is not part of the value, and a
 * segment that is only the suffix has no value. */
static void test_parameter_with_suffix(void)
{
    static const struct route feeds[] = {{HTTP_GET, "/v1/feeds/{token}.ics", &h1, 0}};
    struct route_match m;
    CHECK(router_match(feeds, 1, HTTP_GET, "/v1/feeds/abc_DEF-1.ics", &m) == ROUTE_FOUND);
    CHECK_STR(route_param(&m, "token"), "abc_DEF-1");
    CHECK(router_match(feeds, 1, HTTP_GET, "/v1/feeds/abc", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(feeds, 1, HTTP_GET, "/v1/feeds/abc.ic", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(feeds, 1, HTTP_GET, "/v1/feeds/.ics", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(feeds, 1, HTTP_GET, "/v1/feeds/a.ics/x", &m) == ROUTE_NOT_FOUND);
    CHECK(router_match(feeds, 1, HTTP_GET, "/v1/feeds/x.ics.ics", &m) == ROUTE_FOUND);
    CHECK_STR(route_param(&m, "token"), "x.ics");
}

int main(void)
{
    test_parameter_with_suffix();
    test_exact_and_parameter_matches();
    test_head_matches_get();
    test_unknown_paths_are_not_found();
    test_wrong_method_lists_allowed_methods();
    return check_done("router");
}
