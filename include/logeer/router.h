/* router: maps (method, path) to a route from a static table, extracting {name} parameters.
 * Pure and allocation-free so that it is trivially unit-tested and fuzzed; it knows nothing
 * of handlers beyond an opaque pointer. */
#ifndef LOGEER_ROUTER_H
#define LOGEER_ROUTER_H

#include <stddef.h>

#include "logeer/http.h"

#define ROUTER_MAX_PARAMS 4
#define ROUTER_MAX_PARAM_LEN 128

struct route {
    enum http_method method;
    const char *pattern;   /* "/v1/pools/{id}/capacity"; segments in braces are parameters */
    const void *handler;   /* opaque to the router */
    unsigned roles;        /* opaque to the router: who may call it (0 = no login needed) */
};

struct route_param {
    const char *name;      /* points into the pattern, not NUL-terminated */
    size_t name_len;
    char value[ROUTER_MAX_PARAM_LEN];
};

struct route_match {
    const struct route *route;
    int nparams;
    struct route_param params[ROUTER_MAX_PARAMS];
    char allow[96];        /* for 405: "GET, HEAD, POST" */
};

enum router_result { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED };

/* HEAD matches a GET route. Parameter values are whole segments (no '/'), 1..127 bytes; a
 * parameter may be followed by a fixed suffix in its segment ("/v1/feeds/{token}.ics"), which
 * the path must carry and the value then lacks. */
enum router_result router_match(const struct route *routes, size_t nroutes,
                                 enum http_method method, const char *path,
                                 struct route_match *out);

/* The value of parameter name, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif
