/* access_log: writes NEN 7513 access-log rows for stays and guests (see access_log.c). Internal to the
 * api layer. */
#ifndef LOGEER_API_ACCESS_LOG_H
#define LOGEER_API_ACCESS_LOG_H

#include <stddef.h>

#include "logeer/api.h"

int access_log_prepare(struct app *app);
/* Logs action (e.g. "stay.read") by the caller on each stay; never waits, never fails the
 * request. */
void access_log_stays(struct api_ctx *c, const char *action, const char *const *stay_ids,
                      size_t n);

/* The same for registered guests read or changed outside a stay (guests, intakes,
 * allowances): one row per guest id. */
void access_log_guests(struct api_ctx *c, const char *action, const char *const *guest_ids,
                       size_t n);

/* For /metrics: rows of failed batches kept for another attempt, and rows given up on since
 * start (an error that would recur, more than the kept bound, still failing at a stop). */
void access_log_stats(size_t *rows_retrying, unsigned long long *rows_lost_total);

/* Frees the batch (api_shutdown); rows still waiting are not written. */
void access_log_close(void);

#endif
