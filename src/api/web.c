/* web: serves the web pages from the files loaded into memory at start-up (assets.h): the
 * caregiver portal at / (web/portaal), the coordinator's dashboard at /dashboard/, the
 * provider board at /aanbieder/ and their shared files at /common/. Every answer carries a
 * strict Content-Security-Policy and the other security headers. Also owns the shape of the
 * cookie session's cookies (dispatch.c checks them). Never reads the disk and never needs a
 * login: the pages are public, the data behind them is not (they call /v1). */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "logeer/assets.h"
#include "logeer/config.h"

/* Scripts and styles only from files of our own, no inline code, no framing, no forms posted
 * by the browser itself (every form goes through fetch), requests only to this origin. */
#define WEB_CSP                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'none'; "        \
    "frame-ancestors 'none'; base-uri 'none'"

static void security_headers(struct api_ctx *c)
{
    http_reply_header(c->req, "Content-Security-Policy", WEB_CSP);
    http_reply_header(c->req, "X-Content-Type-Options", "nosniff");
    http_reply_header(c->req, "X-Frame-Options", "DENY");
    http_reply_header(c->req, "Referrer-Policy", "no-referrer");
}

/* Both cookies live exactly as long as the session (Max-Age), for every path of this origin,
 * and are never sent along with a request another site starts (SameSite=Strict). Where
 * browsers reach us over HTTPS (our own TLS or a proxy's) they are never sent over plain HTTP
 * (Secure) and carry the __Host- prefix. Only the session cookie is HttpOnly: the CSRF cookie
 * exists to be read by the page's script. */
static void session_cookie(struct api_ctx *c, const char *name, const char *value, int max_age_s,
                           bool http_only)
{
    bool https = config_https(c->app->cfg);
    char line[256];
    snprintf(line, sizeof line, "%s%s=%s; Max-Age=%d; Path=/; SameSite=Strict%s%s",
             https ? AUTH_HOST_PREFIX : "", name, value, max_age_s,
             http_only ? "; HttpOnly" : "", https ? "; Secure" : "");
    http_reply_header(c->req, "Set-Cookie", line);
}

void api_session_cookies_set(struct api_ctx *c, const char *token, int max_age_s)
{
    char csrf[AUTH_TOKEN_LEN];
    auth_csrf_token(token, csrf);
    session_cookie(c, AUTH_SESSION_COOKIE, token, max_age_s, true);
    session_cookie(c, AUTH_CSRF_COOKIE, csrf, max_age_s, false);
}

void api_session_cookies_clear(struct api_ctx *c)
{
    session_cookie(c, AUTH_SESSION_COOKIE, "", 0, true);
    session_cookie(c, AUTH_CSRF_COOKIE, "", 0, false);
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

static void web_serve(struct api_ctx *c, const char *folder, const char *name)
{
    security_headers(c);
    const struct asset *a = assets_name_ok(name) ? assets_find(c->app->web, folder, name) : NULL;
    if (!a) {
        api_reply_problem(c, PROBLEM_NOT_FOUND, assets_folder_count(c->app->web, folder)
                                                    ? "the pages have no file %.20s/%.100s"
                                                    : "web/%.20s is not installed here "
                                                      "(LOGEER_WEB_DIR); no file %.100s",
                          folder, name);
        return;
    }
    /* No fingerprinted file names, so every use revalidates; the ETag makes that a 304. */
    http_reply_header(c->req, "Cache-Control", "no-cache");
    http_reply_header(c->req, "ETag", a->etag);
    if (etag_matches(http_request_header(c->req, "If-None-Match"), a->etag)) {
        api_reply_empty(c, 304);
        return;
    }
    api_reply_raw(c, 200, a->content_type, a->data, a->len);
}

/* Relative links in a page (app.js, style.css) resolve against its directory, so the
 * folder's bare name redirects to the name with a slash. */
static void web_redirect(struct api_ctx *c, const char *to)
{
    security_headers(c);
    http_reply_header(c->req, "Location", to);
    api_reply_empty(c, 301);
}

/* One index and one file handler per audience's folder, and a redirect from the bare name
 * for the folders that live under a path of their own. */
#define WEB_FOLDER(folder)                                                                   \
    static void folder##_index(struct api_ctx *c) { web_serve(c, #folder, "index.html"); }  \
    static void folder##_file(struct api_ctx *c)                                             \
    {                                                                                        \
        web_serve(c, #folder, api_param(c, "file"));                                         \
    }                                                                                        \
    static const struct api_endpoint folder##_index_ep = {folder##_index, false};           \
    static const struct api_endpoint folder##_file_ep = {folder##_file, false}
#define WEB_REDIRECT(folder)                                                                 \
    static void folder##_redirect(struct api_ctx *c) { web_redirect(c, "/" #folder "/"); }  \
    static const struct api_endpoint folder##_redirect_ep = {folder##_redirect, false}

WEB_FOLDER(portaal);
WEB_FOLDER(dashboard);
WEB_REDIRECT(dashboard);
WEB_FOLDER(aanbieder);
WEB_REDIRECT(aanbieder);

static void common_file(struct api_ctx *c) { web_serve(c, "common", api_param(c, "file")); }
static const struct api_endpoint common_file_ep = {common_file, false};

/* routes.c puts this group last: the router takes the first match, so /v1/..., /livez,
 * /readyz and /metrics are never taken for a portal file named by /{file}. */
static const struct route web_routes[] = {
    {HTTP_GET, "/", &portaal_index_ep, 0},
    {HTTP_GET, "/common/{file}", &common_file_ep, 0},
    {HTTP_GET, "/dashboard", &dashboard_redirect_ep, 0},
    {HTTP_GET, "/dashboard/", &dashboard_index_ep, 0},
    {HTTP_GET, "/dashboard/{file}", &dashboard_file_ep, 0},
    {HTTP_GET, "/aanbieder", &aanbieder_redirect_ep, 0},
    {HTTP_GET, "/aanbieder/", &aanbieder_index_ep, 0},
    {HTTP_GET, "/aanbieder/{file}", &aanbieder_file_ep, 0},
    {HTTP_GET, "/{file}", &portaal_file_ep, 0},
};

ROUTE_GROUP(web_group, web_routes, NULL);
