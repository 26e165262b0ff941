/* assets: the static files of the dashboard, read from one directory into memory at start-up
 * so that serving them never touches the disk on the event loop. Only regular files directly
 * in the directory whose names are plain ([A-Za-z0-9._-], not starting with a dot) are taken,
 * so no request path can reach anything else. Knows no HTTP beyond a content type and an
 * ETag per file. */
#ifndef LOGEER_ASSETS_H
#define LOGEER_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#define ASSETS_MAX_FILES 64
#define ASSETS_MAX_FILE_SIZE (4u * 1024 * 1024)

struct asset {
    char *name;               /* file name, e.g. "app.js" */
    char *data;               /* the bytes, NUL-terminated for convenience */
    size_t len;
    const char *content_type; /* from the extension; charset=utf-8 for text */
    char etag[20];            /* "\"<16 hex digits>\"": a hash of the bytes */
};

struct assets;

/* Reads every eligible file of dir. A directory that does not exist gives an empty set (the
 * service runs without a dashboard, and says so in the log); unreadable or oversized files
 * and too many files fail the whole load with a message on stderr: NULL. */
struct assets *assets_load(const char *dir);

const struct asset *assets_find(const struct assets *a, const char *name);
size_t assets_count(const struct assets *a);
void assets_free(struct assets *a);

/* The Content-Type for a file name by its extension; application/octet-stream if unknown. */
const char *assets_content_type(const char *name);

/* True for a name assets_load would take: the same rule a request path is checked with. */
bool assets_name_ok(const char *name);

#endif
