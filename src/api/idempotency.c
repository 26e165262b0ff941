/* idempotency: Idempotency-Key validation, the request fingerprint and the refusals, shared
 * by every route that takes a key so that all of them judge "the same request" alike. */
#include "logeer/idempotency.h"

#include <stdlib.h>
#include <string.h>

#include "logeer/jsoncanon.h"

bool idem_key_valid(const char *key)
{
    size_t len = strlen(key);
    if (len == 0 || len > IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return true;
}

/* "<method> <path>\n" then the canonical body, written into one buffer and hashed once. */
bool idem_fingerprint(const char *method, const char *path, const cJSON *body,
                      const char *const *omit, char out[DIGEST_HEX_LEN])
{
    char *canon = body ? jsoncanon_text(body, omit) : NULL;
    if (body && !canon)
        return false;
    size_t mlen = strlen(method), plen = strlen(path), blen = canon ? strlen(canon) : 0;
    char *text = malloc(mlen + plen + blen + 2);
    if (!text) {
        free(canon);
        return false;
    }
    memcpy(text, method, mlen);
    text[mlen] = ' ';
    memcpy(text + mlen + 1, path, plen);
    text[mlen + 1 + plen] = '\n';
    if (blen)
        memcpy(text + mlen + plen + 2, canon, blen);
    digest_sha256_hex(text, mlen + plen + blen + 2, out);
    free(text);
    free(canon);
    return true;
}

bool idem_key(struct api_ctx *c, const char **key)
{
    *key = http_request_header(c->req, "Idempotency-Key");
    if (!*key || idem_key_valid(*key))
        return true;
    api_reply_problem(c, PROBLEM_BAD_REQUEST, IDEM_DETAIL_MALFORMED);
    return false;
}

bool idem_request_fingerprint(struct api_ctx *c, const char *const *omit,
                              char out[DIGEST_HEX_LEN])
{
    if (idem_fingerprint(c->req->method_name, c->req->path, c->body, omit, out))
        return true;
    api_reply_problem(c, PROBLEM_INTERNAL, "could not fingerprint the request");
    return false;
}

bool idem_reply_refusal(struct api_ctx *c, const char *outcome)
{
    if (strcmp(outcome, "key_mismatch") == 0)
        api_reply_problem(c, PROBLEM_IDEMPOTENCY_MISMATCH, IDEM_DETAIL_REUSED);
    else if (strcmp(outcome, "key_running") == 0)
        api_reply_problem(c, PROBLEM_IDEMPOTENCY_RUNNING, IDEM_DETAIL_RUNNING);
    else
        return false;
    return true;
}

void idem_mark_replayed(struct api_ctx *c)
{
    http_reply_header(c->req, "Idempotent-Replayed", "true");
}
