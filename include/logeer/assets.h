/* assets: the static files of the web pages, read into memory at start-up so that serving
 * them never touches the disk on the event loop. The web directory holds one folder per
 * audience (portaal, dashboard, aanbieder, common); only real folders directly in it and the
 * regular files directly in those, with plain names ([A-Za-z0-9._-], not starting with a dot),
 * are taken, so no request path can reach anything else. Knows no HTTP beyond a content type
 * and an ETag per file. */
#ifndef LOGEER_ASSETS_H
#define LOGEER_ASSETS_H

#include <stdbool.h>
#include <stddef.h>

#define ASSETS_MAX_FILES 256 /* over all folders */
#define ASSETS_MAX_FILE_SIZE (4u * 1024 * 1024)

struct asset {
    char *folder;             /* the audience's folder, e.g. "dashboard" */
    char *name;               /* file name in it, e.g. "app.js" */
    char *data;               /* the bytes, NUL-terminated for convenience */
    size_t len;
    const char *content_type; /* from the extension; charset=utf-8 for text */
    char etag[20];            /* "\"<16 hex digits>\"": a hash of the bytes */
};

struct assets;

/* Reads every eligible file of every folder of dir. A directory that does not exist gives an
 * empty set (the service runs without pages, and says so in the log); unreadable or oversized
 * files and too many files fail the whole load with a message on stderr: NULL. Files directly
 * in dir, links and deeper directories are ignored. */
struct assets *assets_load(const char *dir);

/* The file name in folder, or NULL. Both must be plain names (assets_name_ok). */
const struct asset *assets_find(const struct assets *a, const char *folder, const char *name);
size_t assets_count(const struct assets *a);                        /* over all folders */
size_t assets_folder_count(const struct assets *a, const char *folder);
void assets_free(struct assets *a);

/* The Content-Type for a file name by its extension; application/octet-stream if unknown. */
const char *assets_content_type(const char *name);

/* True for a name assets_load would take: the same rule a request path is checked with. */
bool assets_name_ok(const char *name);

#endif
