/* log: JSON-lines diagnostics on stderr. The message is escaped with cJSON so that whatever a
 * caller formats (paths, SQL errors) cannot break the line structure a log shipper relies on. */
#include "logeer/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logeer/fmt.h"

static enum log_level current_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level) { current_level = level; }

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void log_time_now(char out[LOG_TIME_LEN])
{
    /* The seconds part changes once a second, not once a line: format it only then. Per
     * thread, since worker threads log too. */
    static _Thread_local time_t second_of = -1;
    static _Thread_local char second_text[LOG_TIME_LEN];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != second_of) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(second_text, sizeof second_text, "%Y-%m-%dT%H:%M:%S", &tm);
        second_of = ts.tv_sec;
    }
    /* "%.24s.%03dZ" by hand: this runs for every request's log line. */
    char *p = fmt_bytes(out, second_text, strnlen(second_text, 24));
    *p++ = '.';
    p = fmt_uint_pad(p, (unsigned)(ts.tv_nsec / 1000000), 3);
    *p++ = 'Z';
    *p = '\0';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < current_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    char when[LOG_TIME_LEN];
    log_time_now(when);

    cJSON *line = cJSON_CreateObject();
    cJSON_AddStringToObject(line, "time", when);
    cJSON_AddStringToObject(line, "level", level_names[level]);
    cJSON_AddStringToObject(line, "msg", msg);
    char *text = cJSON_PrintUnformatted(line);
    if (text) {
        /* One fputs per line keeps lines whole when worker threads log at the same time. */
        size_t len = strlen(text);
        char *withnl = malloc(len + 2);
        if (withnl) {
            memcpy(withnl, text, len);
            withnl[len] = '\n';
            withnl[len + 1] = '\0';
            fputs(withnl, stderr);
            free(withnl);
        }
        cJSON_free(text);
    }
    cJSON_Delete(line);
}
