/* dashboard: serves the coordinator's dashboard (web/) at /dashboard/ from the files loaded
 * into memory at start-up (assets.h), with a strict Content-Security-Policy. Never reads the
 * disk and never needs a login: the page is public, the data behind it is not. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "logeer/assets.h"

/* Scripts and styles only from files of our own, no inline code, no framing, no forms posted
 * by the browser itself (the login goes through fetch), requests only to this origin. */
#define DASHBOARD_CSP                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'none'; "        \
    "frame-ancestors 'none'; base-uri 'none'"

static void security_headers(struct api_ctx *c)
{
    http_reply_header(c->req, "Content-Security-Policy", DASHBOARD_CSP);
    http_reply_header(c->req, "X-Content-Type-Options", "nosniff");
    http_reply_header(c->req, "X-Frame-Options", "DENY");
    http_reply_header(c->req, "Referrer-Policy", "no-referrer");
}

/* True when If-None-Match names the current ETag (or is "*"). */
static bool etag_matches(const char *header, const char *etag)
{
    if (!header)
        return false;
    if (strcmp(header, "*") == 0)
        return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(header, etag); p; p = strstr(p + 1, etag)) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return true;
    }
    return false;
}

static void dashboard_serve(struct api_ctx *c, const char *name)
{
    const struct asset *a = assets_name_ok(name) ? assets_find(c->app->web, name) : NULL;
    if (!a) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, assets_count(c->app->web)
                                                    ? "the dashboard has no file named %.100s"
                                                    : "the dashboard is not installed here "
                                                      "(LOGEER_WEB_DIR); no file %.100s",
                          name);
        return;
    }
    security_headers(c);
    /* No fingerprinted file names, so every use revalidates; the ETag makes that a 304. */
    http_reply_header(c->req, "Cache-Control", "no-cache");
    http_reply_header(c->req, "ETag", a->etag);
    if (etag_matches(http_request_header(c->req, "If-None-Match"), a->etag)) {
        api_reply_empty(c, 304);
        return;
    }
    api_reply_raw(c, 200, a->content_type, a->data, a->len);
}

static void dashboard_index(struct api_ctx *c) { dashboard_serve(c, "index.html"); }

static void dashboard_file(struct api_ctx *c) { dashboard_serve(c, api_param(c, "file")); }

/* Relative links in the page (app.js, style.css) resolve against the directory. */
static void dashboard_redirect(struct api_ctx *c)
{
    http_reply_header(c->req, "Location", "/dashboard/");
    api_reply_empty(c, 301);
}

static const struct api_endpoint redirect = {dashboard_redirect, false};
static const struct api_endpoint index_page = {dashboard_index, false};
static const struct api_endpoint file = {dashboard_file, false};

static const struct route dashboard_routes[] = {
    {HTTP_GET, "/dashboard", &redirect, 0},
    {HTTP_GET, "/dashboard/", &index_page, 0},
    {HTTP_GET, "/dashboard/{file}", &file, 0},
};

ROUTE_GROUP(dashboard_group, dashboard_routes, NULL);
