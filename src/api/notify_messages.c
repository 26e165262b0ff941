/* notify_messages: GET /v1/notify-messages, the admin's view of the message store (spec 9):
 * state, channel, attempts and last error of every email and webhook, filtered and paged.
 * Never shows a message's data or body (what it says); the recipient is an id only. */
#include <string.h>

#include "handlers.h"
#include "resource.h"

#define MESSAGE_JSON                                                                         \
    "json_build_object('id', r.id, 'channel', r.channel, 'kind', r.kind, "                   \
    "'event_id', r.event_id, 'event_type', r.event_type, 'recipient', r.recipient, "         \
    "'state', r.state, 'parked', r.state = 'pending' AND r.next_attempt_at = 'infinity', "   \
    "'attempts', r.attempts, 'redeliveries', r.redeliveries, "                                \
    "'next_attempt_at', CASE WHEN r.state = 'pending' AND r.next_attempt_at < 'infinity' "   \
    "THEN " RES_TS("r.next_attempt_at") " END, 'last_status', r.last_status, "               \
    "'last_error', r.last_error, 'created_at', " RES_TS("r.created_at") ", "                  \
    "'sent_at', " RES_TS("r.sent_at") ")"

static int messages_prepare(struct app *app)
{
    /* The scope column is NULL: only the admin reaches this route, and sees every message. */
    return api_prepare(app, "notify_messages_list",
                       RES_LIST_SQL("messages", MESSAGE_JSON,
                                    "(SELECT m.*, NULL::uuid AS scope FROM notify_messages m)",
                                    "scope",
                                    "($4::notify_state IS NULL OR r.state = $4::notify_state) "
                                    "AND ($5::notify_channel IS NULL "
                                    "OR r.channel = $5::notify_channel)",
                                    "r.created_at DESC, r.id"));
}

static bool one_of(const char *value, const char *const *known)
{
    for (int i = 0; known[i]; i++)
        if (strcmp(known[i], value) == 0)
            return true;
    return false;
}

static void messages_list(struct api_ctx *c)
{
    static const char *const states[] = {"pending", "sent", "failed", NULL};
    static const char *const channels[] = {"email", "webhook", NULL};
    struct res_args a;
    res_args_init(&a);
    const char *state = res_arg(c, &a, "state", 16);
    if (state && !one_of(state, states))
        jsonv_error(&a.v, "state", "must be pending, sent or failed");
    const char *channel = res_arg(c, &a, "channel", 16);
    if (channel && !one_of(channel, channels))
        jsonv_error(&a.v, "channel", "must be email or webhook");
    const char *filters[] = {state, channel};
    res_list(c, "notify_messages_list", &a, filters, 2);
}

static const struct api_endpoint list = {messages_list, false};

static const struct route message_routes[] = {
    {HTTP_GET, "/v1/notify-messages", &list, ROLE_ADMIN},
};

ROUTE_GROUP(notify_messages_group, message_routes, messages_prepare);
