/* test_assets: the web pages' file store takes exactly the plain regular files of the real
 * folders of its directory into memory (no dotfiles, links, files at the top or deeper
 * directories), with content types and stable ETags, and refuses request names that could
 * leave a folder. */
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

static void make_dir(char *out, size_t size, const char *parent, const char *name)
{
    snprintf(out, size, "%s/%s", parent, name);
    if (mkdir(out, 0700) != 0) {
        perror(out);
        exit(2);
    }
}

int main(void)
{
    char dir[] = "/tmp/logeer-assets-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    char dash[256], common[256], deep[384], hidden[256], path[512], target[512];
    make_dir(dash, sizeof dash, dir, "dashboard");
    make_dir(common, sizeof common, dir, "common");
    make_dir(deep, sizeof deep, dash, "sub");
    make_dir(hidden, sizeof hidden, dir, ".git");
    write_file(dash, "index.html", "<!doctype html><title>x</title>");
    write_file(dash, "app.js", "console.log(1);");
    write_file(common, "style.css", "body{}");
    write_file(common, "index.html", "<!doctype html><title>common</title>");
    write_file(dash, ".secret", "no");
    write_file(deep, "inner.txt", "no");
    write_file(hidden, "config", "no");
    write_file(dir, "top.html", "no");
    snprintf(target, sizeof target, "%s/index.html", dash);
    snprintf(path, sizeof path, "%s/link.html", dash);
    if (symlink(target, path) != 0)
        perror("symlink");
    snprintf(path, sizeof path, "%s/portaal", dir);
    if (symlink(dash, path) != 0) /* a linked folder is not followed either */
        perror("symlink");

    struct assets *a = assets_load(dir);
    CHECK(a != NULL, "a directory of folders with plain files loads");
    CHECK(assets_count(a) == 4, "only the four plain regular files in real folders are taken");
    CHECK(assets_folder_count(a, "dashboard") == 2 && assets_folder_count(a, "common") == 2 &&
              assets_folder_count(a, "portaal") == 0,
          "files are counted per folder; a linked folder has none");
    const struct asset *idx = assets_find(a, "dashboard", "index.html");
    CHECK(idx && idx->len == strlen("<!doctype html><title>x</title>") &&
              memcmp(idx->data, "<!doctype", 9) == 0, "dashboard/index.html is in memory, whole");
    CHECK(idx && strcmp(idx->content_type, "text/html; charset=utf-8") == 0,
          "index.html is text/html; charset=utf-8");
    const struct asset *cidx = assets_find(a, "common", "index.html");
    CHECK(idx && cidx && cidx != idx && strstr(cidx->data, "common"),
          "the same name in two folders is two files");
    const struct asset *js = assets_find(a, "dashboard", "app.js");
    CHECK(js && strcmp(js->content_type, "text/javascript; charset=utf-8") == 0,
          "app.js is text/javascript");
    CHECK(idx && js && idx->etag[0] == '"' && strlen(idx->etag) == 18 &&
              strcmp(idx->etag, js->etag) != 0, "ETags are quoted hashes that differ per content");
    CHECK(!assets_find(a, "dashboard", ".secret") && !assets_find(a, "dashboard", "link.html") &&
              !assets_find(a, "dashboard", "sub") && !assets_find(a, "sub", "inner.txt") &&
              !assets_find(a, ".git", "config") && !assets_find(a, "portaal", "index.html") &&
              !assets_find(a, "common", "app.js"),
          "dotfiles, links, linked folders and deeper directories are not served");
    CHECK(!assets_find(a, "", "top.html") && !assets_find(a, ".", "top.html"),
          "files directly in the web directory are not served");

    struct assets *b = assets_load(dir);
    const struct asset *idx2 = assets_find(b, "dashboard", "index.html");
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
