/* fuzz_router: libFuzzer harness for router_match over a route table shaped like the service's
 * own (spec section 4), with an arbitrary method and path. Checks what the router promises
 * (whole-segment parameters that fit, Allow lists for 405) and never does I/O. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logeer/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The handler pointer only has to be distinct per route; the router never calls it. */
static const char fuzz_handlers[64];
#define H(i) ((const void *)&fuzz_handlers[i])

static const struct route fuzz_routes[] = {
    {HTTP_GET, "/livez", H(0), 0},
    {HTTP_GET, "/readyz", H(1), 0},
    {HTTP_GET, "/metrics", H(2), 0},
    {HTTP_GET, "/v1/municipalities", H(3), 0},
    {HTTP_POST, "/v1/sessions", H(4), 0},
    {HTTP_DELETE, "/v1/sessions/current", H(5), 1},
    {HTTP_GET, "/v1/availability", H(6), 1},
    {HTTP_POST, "/v1/stays", H(7), 1},
    {HTTP_GET, "/v1/stays", H(8), 1},
    {HTTP_GET, "/v1/stays/{id}", H(9), 1},
    {HTTP_POST, "/v1/stays/{id}/{action}", H(10), 1},
    {HTTP_POST, "/v1/providers", H(11), 1},
    {HTTP_GET, "/v1/providers", H(12), 1},
    {HTTP_GET, "/v1/providers/{id}", H(13), 1},
    {HTTP_PATCH, "/v1/providers/{id}", H(14), 1},
    {HTTP_POST, "/v1/locations", H(15), 1},
    {HTTP_GET, "/v1/locations", H(16), 1},
    {HTTP_GET, "/v1/locations/{id}", H(17), 1},
    {HTTP_PATCH, "/v1/locations/{id}", H(18), 1},
    {HTTP_POST, "/v1/pools", H(19), 1},
    {HTTP_GET, "/v1/pools", H(20), 1},
    {HTTP_GET, "/v1/pools/{id}", H(21), 1},
    {HTTP_PATCH, "/v1/pools/{id}", H(22), 1},
    {HTTP_GET, "/v1/pools/{id}/capacity", H(23), 1},
    {HTTP_PUT, "/v1/pools/{id}/capacity", H(24), 1},
    {HTTP_GET, "/v1/reports/occupancy", H(25), 1},
    {HTTP_GET, "/v1/reports/demand", H(26), 1},
    {HTTP_GET, "/v1/events", H(27), 1},
    {HTTP_GET, "/v1/me", H(28), 1},
    {HTTP_DELETE, "/v1/me", H(29), 1},
    {HTTP_GET, "/v1/me/export", H(30), 1},
    {HTTP_POST, "/v1/users", H(31), 1},
    {HTTP_GET, "/v1/users/{id}", H(32), 1},
    {HTTP_GET, "/v1/access-log", H(33), 1},
    /* As many parameters as a match can hold, and one more than that: the router must refuse
     * the second rather than write past params[]. */
    {HTTP_GET, "/v1/a/{p1}/{p2}/{p3}/{p4}", H(34), 1},
    {HTTP_GET, "/v1/b/{p1}/{p2}/{p3}/{p4}/{p5}", H(35), 1},
};
#define FUZZ_NROUTES (sizeof fuzz_routes / sizeof fuzz_routes[0])

static void fuzz_assert(int ok)
{
    if (!ok)
        abort();
}

static void fuzz_check_found(const struct route_match *m, enum http_method method)
{
    enum http_method want = method == HTTP_HEAD ? HTTP_GET : method;
    fuzz_assert(m->route != NULL && m->route->method == want);
    fuzz_assert(m->nparams >= 0 && m->nparams <= ROUTER_MAX_PARAMS);
    for (int i = 0; i < m->nparams; i++) {
        const struct route_param *p = &m->params[i];
        size_t len = strnlen(p->value, ROUTER_MAX_PARAM_LEN);
        fuzz_assert(len > 0 && len < ROUTER_MAX_PARAM_LEN);
        fuzz_assert(strchr(p->value, '/') == NULL);
        /* The name points into the route's own pattern. */
        const char *pat = m->route->pattern;
        fuzz_assert(p->name > pat && p->name + p->name_len < pat + strlen(pat));
        char name[64];
        fuzz_assert(p->name_len < sizeof name);
        memcpy(name, p->name, p->name_len);
        name[p->name_len] = '\0';
        fuzz_assert(route_param(m, name) != NULL);
    }
}

/* Builds the path of route r with its parameters filled from the input; when every value is
 * a valid segment the router must find a route with r's method for it. */
static void fuzz_fill_route(const struct route *r, const uint8_t *data, size_t size)
{
    char path[1024];
    size_t o = 0, in = 0;
    bool valid = true;
    for (const char *p = r->pattern; *p && o + 1 < sizeof path;) {
        if (*p != '{') {
            path[o++] = *p++;
            continue;
        }
        while (*p && *p != '}')
            p++;
        if (*p)
            p++;
        size_t seg = in < size ? data[in++] % 140 : 1;
        if (seg == 0 || seg >= ROUTER_MAX_PARAM_LEN)
            valid = false;
        for (size_t k = 0; k < seg && o + 1 < sizeof path; k++) {
            char c = in < size ? (char)data[in++] : 'x';
            path[o++] = (c == '/' || c == '\0') ? '_' : c;
        }
    }
    path[o] = '\0';
    struct route_match m;
    enum router_result res = router_match(fuzz_routes, FUZZ_NROUTES, r->method, path, &m);
    if (res == ROUTE_FOUND)
        fuzz_check_found(&m, r->method);
    int params = 0;
    for (const char *p = r->pattern; *p; p++)
        params += *p == '{';
    if (valid && params <= ROUTER_MAX_PARAMS && o + 1 < sizeof path)
        fuzz_assert(res == ROUTE_FOUND);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum http_method method = (enum http_method)(data[0] % (HTTP_METHOD_OTHER + 1));
    /* The server hands the router a NUL-terminated, percent-decoded path: any byte but NUL. */
    char *path = malloc(size);
    if (!path)
        return 0;
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    struct route_match m;
    switch (router_match(fuzz_routes, FUZZ_NROUTES, method, path, &m)) {
    case ROUTE_FOUND:
        fuzz_check_found(&m, method);
        break;
    case ROUTE_METHOD_NOT_ALLOWED:
        fuzz_assert(m.route == NULL && m.allow[0] != '\0');
        fuzz_assert(strnlen(m.allow, sizeof m.allow) < sizeof m.allow);
        break;
    case ROUTE_NOT_FOUND:
        fuzz_assert(m.route == NULL);
        break;
    }
    free(path);
    fuzz_fill_route(&fuzz_routes[data[0] % FUZZ_NROUTES], data + 1, size - 1);
    return 0;
}
