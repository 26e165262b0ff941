/* account_tokens: the verification link that follows a caregiver's registration. The routes
 * themselves (reset, verify, send again) are the account_tokens route group (handlers.h). */
#ifndef LOGEER_API_ACCOUNT_TOKENS_H
#define LOGEER_API_ACCOUNT_TOKENS_H

#include "logeer/api.h"

/* Marks the new account unverified, mails it a verification link and answers 201 with body
 * (the new account's JSON, copied). Frees c's current state first; c is answered either way. */
void account_tokens_after_register(struct api_ctx *c, const char *user_id, const char *body);

#endif
