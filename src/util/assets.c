/* assets: loads the web pages' files (one folder per audience under web/) once, before the
 * event loop runs. Owns the file list and their bytes; never reads the disk after assets_load
 * returns, and never follows a link or descends more than one level. */
#include "logeer/assets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logeer/log.h"

struct assets {
    struct asset files[ASSETS_MAX_FILES];
    size_t n;
    size_t nfolders;          /* folders that were read, empty ones included */
};

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

const char *assets_content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
            if (strcmp(dot, content_types[i].ext) == 0)
                return content_types[i].type;
    return "application/octet-stream";
}

bool assets_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 100 || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* FNV-1a: not for security, only so that an unchanged file keeps its ETag across restarts. */
static void asset_etag(struct asset *a)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < a->len; i++) {
        h ^= (unsigned char)a->data[i];
        h *= 0x100000001b3ull;
    }
    snprintf(a->etag, sizeof a->etag, "\"%016llx\"", (unsigned long long)h);
}

/* Reads one file whole; returns 0, or -1 with a message. */
static int asset_read(struct asset *a, int dirfd, const char *folder, const char *name,
                      const char *dir)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "logeerd: cannot read %s/%s: %s\n", dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if ((size_t)st.st_size > ASSETS_MAX_FILE_SIZE) {
        fprintf(stderr, "logeerd: %s/%s is larger than %u bytes\n", dir, name, ASSETS_MAX_FILE_SIZE);
        close(fd);
        return -1;
    }
    a->folder = strdup(folder);
    a->name = strdup(name);
    a->data = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (a->data && got < (size_t)st.st_size) {
        ssize_t n = read(fd, a->data + got, (size_t)st.st_size - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    if (!a->folder || !a->name || !a->data || got != (size_t)st.st_size) {
        fprintf(stderr, "logeerd: cannot read %s/%s whole\n", dir, name);
        return -1;
    }
    a->data[got] = '\0';
    a->len = got;
    a->content_type = assets_content_type(name);
    asset_etag(a);
    return 0;
}

/* Regular files and real directories only (lstat semantics): a symbolic link could lead
 * outside the web directory. */
static bool is_type(int dirfd, const char *name, mode_t type)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

/* Reads the plain regular files of one folder; 0, or -1 with a message. Anything else in the
 * folder (dotfiles, links, deeper directories) is left alone: no request can name it. */
static int assets_load_folder(struct assets *a, int parentfd, const char *folder, const char *dir)
{
    int fd = openat(parentfd, folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        fprintf(stderr, "logeerd: cannot open %s/%s: %s\n", dir, folder, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    a->nfolders++;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!assets_name_ok(e->d_name) || !is_type(fd, e->d_name, S_IFREG))
            continue;
        if (a->n == ASSETS_MAX_FILES) {
            fprintf(stderr, "logeerd: %s has more than %d files\n", dir, ASSETS_MAX_FILES);
            rc = -1;
            break;
        }
        rc = asset_read(&a->files[a->n], fd, folder, e->d_name, dir);
        a->n++;
    }
    closedir(d);
    return rc;
}

struct assets *assets_load(const char *dir)
{
    struct assets *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    DIR *d = opendir(dir);
    if (!d) {
        log_warn("no web pages: cannot open %s: %s (set LOGEER_WEB_DIR)", dir, strerror(errno));
        return a;
    }
    int dirfd_ = dirfd(d);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (assets_name_ok(e->d_name) && is_type(dirfd_, e->d_name, S_IFDIR))
            rc = assets_load_folder(a, dirfd_, e->d_name, dir);
    closedir(d);
    if (rc != 0) {
        assets_free(a);
        return NULL;
    }
    return a;
}

const struct asset *assets_find(const struct assets *a, const char *folder, const char *name)
{
    if (!a || !folder || !name)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->files[i].folder, folder) == 0 && strcmp(a->files[i].name, name) == 0)
            return &a->files[i];
    return NULL;
}

size_t assets_folder_count(const struct assets *a, const char *folder)
{
    size_t n = 0;
    for (size_t i = 0; a && i < a->n; i++)
        n += strcmp(a->files[i].folder, folder) == 0;
    return n;
}

size_t assets_count(const struct assets *a)
{
    return a ? a->n : 0;
}

void assets_free(struct assets *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->files[i].folder);
        free(a->files[i].name);
        free(a->files[i].data);
    }
    free(a);
}
