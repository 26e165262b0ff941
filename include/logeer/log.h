/* log: structured diagnostics as one JSON object per line on stderr. Request logs go to stdout
 * (see api/dispatch.c); this module is for everything else. Safe to call from worker threads. */
#ifndef LOGEER_LOG_H
#define LOGEER_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
/* Accepts "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_from_name(const char *name);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_TIME_LEN 32
/* The current time as every log line shows it: RFC 3339 in UTC with milliseconds,
 * "2026-12-02T18:01:04.123Z". Used for the request log line too. */
void log_time_now(char out[LOG_TIME_LEN]);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
