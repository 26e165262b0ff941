/* router: segment-by-segment matching of a path against route patterns. A linear scan is the
 * right tool for a few dozen routes: it is faster than a trie at this size and obviously correct. */
#include "logeer/router.h"

#include <stdio.h>
#include <string.h>

/* Matches one pattern; fills params on success. */
static int match_pattern(const char *pattern, const char *path, struct route_match *out)
{
    const char *p = pattern, *s = path;
    int n = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++, s++;
        const char *pend = strchr(p, '/');
        const char *send = strchr(s, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        const char *close = plen >= 2 && p[0] == '{' ? memchr(p, '}', plen) : NULL;
        if (close) {
            /* "{token}.ics": a parameter may be followed by a fixed suffix, which the
             * segment must end with and which is not part of the value. */
            size_t suffix = plen - (size_t)(close + 1 - p);
            size_t vlen = slen - suffix;
            if (slen <= suffix || memcmp(s + vlen, close + 1, suffix) != 0 ||
                vlen >= ROUTER_MAX_PARAM_LEN || n == ROUTER_MAX_PARAMS)
                return 0;
            out->params[n].name = p + 1;
            out->params[n].name_len = (size_t)(close - p) - 1;
            memcpy(out->params[n].value, s, vlen);
            out->params[n].value[vlen] = '\0';
            n++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen, s += slen;
    }
    if (*p || *s)
        return 0;
    out->nparams = n;
    return 1;
}

static void allow_add(char *allow, size_t size, enum http_method m)
{
    const char *name = http_method_name(m);
    if (strstr(allow, name))
        return;
    size_t len = strlen(allow);
    snprintf(allow + len, size - len, "%s%s", len ? ", " : "", name);
}

enum router_result router_match(const struct route *routes, size_t nroutes,
                                 enum http_method method, const char *path,
                                 struct route_match *out)
{
    memset(out, 0, sizeof *out);
    enum http_method want = method == HTTP_HEAD ? HTTP_GET : method;
    int path_known = 0;
    for (size_t i = 0; i < nroutes; i++) {
        struct route_match m;
        memset(&m, 0, sizeof m);
        if (!match_pattern(routes[i].pattern, path, &m))
            continue;
        path_known = 1;
        if (routes[i].method == want) {
            m.route = &routes[i];
            memcpy(out->params, m.params, sizeof m.params);
            out->nparams = m.nparams;
            out->route = m.route;
            return ROUTE_FOUND;
        }
    }
    if (!path_known)
        return ROUTE_NOT_FOUND;
    for (size_t i = 0; i < nroutes; i++) {
        struct route_match m;
        if (!match_pattern(routes[i].pattern, path, &m))
            continue;
        allow_add(out->allow, sizeof out->allow, routes[i].method);
        if (routes[i].method == HTTP_GET)
            allow_add(out->allow, sizeof out->allow, HTTP_HEAD);
    }
    return ROUTE_METHOD_NOT_ALLOWED;
}

const char *route_param(const struct route_match *m, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].name_len == len && memcmp(m->params[i].name, name, len) == 0)
            return m->params[i].value;
    return NULL;
}
