/* log: JSON-lines diagnostics on stderr. The message is escaped with cJSON so that whatever a
 * caller formats (paths, SQL errors) cannot break the line structure a log shipper relies on. */
#include "logeer/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < current_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

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
