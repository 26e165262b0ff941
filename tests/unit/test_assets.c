/* test_assets: the dashboard's file store takes exactly the plain regular files of its
 * directory into memory (no dotfiles, links or subdirectories), with content types and
 * stable ETags, and refuses request names that could leave the directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logeer/assets.h"

static int failures;
static int checks;

#define CHECK(cond, name)                                  \
    do {                                                   \
        checks++;                                          \
        if (cond) {                                        \
            printf("ok   %s\n", name);                     \
        } else {                                           \
            failures++;                                    \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, name); \
        }                                                  \
    } while (0)

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    char dir[] = "/tmp/logeer-assets-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char path[512], target[512];
    write_file(dir, "index.html", "<!doctype html><title>x</title>");
    write_file(dir, "app.js", "console.log(1);");
    write_file(dir, "style.css", "body{}");
    write_file(dir, ".secret", "no");
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0700);
    write_file(path, "inner.txt", "no");
    snprintf(target, sizeof target, "%s/index.html", dir);
    snprintf(path, sizeof path, "%s/link.html", dir);
    if (symlink(target, path) != 0)
        perror("symlink");

    struct assets *a = assets_load(dir);
    CHECK(a != NULL, "a directory with plain files loads");
    CHECK(assets_count(a) == 3, "only the three plain regular files are taken");
    const struct asset *idx = assets_find(a, "index.html");
    CHECK(idx && idx->len == strlen("<!doctype html><title>x</title>") &&
              memcmp(idx->data, "<!doctype", 9) == 0, "index.html is in memory, whole");
    CHECK(idx && strcmp(idx->content_type, "text/html; charset=utf-8") == 0,
          "index.html is text/html; charset=utf-8");
    const struct asset *js = assets_find(a, "app.js");
    CHECK(js && strcmp(js->content_type, "text/javascript; charset=utf-8") == 0,
          "app.js is text/javascript");
    CHECK(idx && js && idx->etag[0] == '"' && strlen(idx->etag) == 18 &&
              strcmp(idx->etag, js->etag) != 0, "ETags are quoted hashes that differ per content");
    CHECK(!assets_find(a, ".secret") && !assets_find(a, "link.html") && !assets_find(a, "sub"),
          "dotfiles, symbolic links and subdirectories are not served");

    struct assets *b = assets_load(dir);
    const struct asset *idx2 = assets_find(b, "index.html");
    CHECK(idx && idx2 && strcmp(idx->etag, idx2->etag) == 0, "the same bytes give the same ETag");
    assets_free(b);

    CHECK(!assets_name_ok("../etc/passwd") && !assets_name_ok("a/b") && !assets_name_ok("") &&
              !assets_name_ok(".env") && !assets_name_ok("a%2fb") && assets_name_ok("app.js"),
          "names with slashes, dots first, percent signs or nothing are refused");
    CHECK(strcmp(assets_content_type("x.svg"), "image/svg+xml") == 0 &&
              strcmp(assets_content_type("x.bin"), "application/octet-stream") == 0,
          "content types by extension, octet-stream when unknown");
    assets_free(a);

    struct assets *none = assets_load("/nonexistent/logeer-web");
    CHECK(none && assets_count(none) == 0, "a missing directory gives an empty set, not a failure");
    assets_free(none);

    /* Clean up the scratch directory. */
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        printf("(could not remove %s)\n", dir);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
