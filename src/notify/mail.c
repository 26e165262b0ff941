/* mail: builds MIME messages and hands them to SMTP (libcurl) or to a directory. Everything a
 * header holds passes mail_address_ok or mail_header_text, the only two ways in, so message
 * data can never add a header. Sending blocks; only notify's worker threads call it. */
#include "logeer/mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BOUNDARY "=_logeer_alt_7c1f"

void mail_buf_free(struct mail_buf *b)
{
    free(b->text);
    memset(b, 0, sizeof *b);
}

void mail_buf_add(struct mail_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) {
            b->failed = true;
            return;
        }
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

void mail_buf_printf(struct mail_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        mail_buf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    mail_buf_add(b, big, (size_t)n);
    free(big);
}

void mail_buf_add_html(struct mail_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': mail_buf_add(b, "&amp;", 5); break;
        case '<': mail_buf_add(b, "&lt;", 4); break;
        case '>': mail_buf_add(b, "&gt;", 4); break;
        case '"': mail_buf_add(b, "&quot;", 6); break;
        case '\'': mail_buf_add(b, "&#39;", 5); break;
        default: mail_buf_add(b, s, 1);
        }
    }
}

bool mail_address_ok(const char *addr)
{
    size_t n = addr ? strlen(addr) : 0;
    if (n < 3 || n > 254)
        return false;
    const char *at = strchr(addr, '@');
    if (!at || at == addr || strchr(at + 1, '@') || !at[1] || at - addr > 64)
        return false;
    for (const char *c = addr; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u >= 0x7f || strchr("\"<>(),;:\\[]", u))
            return false;
    }
    const char *dot = strchr(at + 1, '.');
    return dot && dot != at + 1 && dot[1] && addr[n - 1] != '.';
}

bool mail_from_parse(const char *from, char *name, size_t name_size, char *addr, size_t addr_size)
{
    const char *lt = strchr(from, '<');
    if (!lt) {
        snprintf(name, name_size, "%s", "");
        snprintf(addr, addr_size, "%s", from);
        return mail_address_ok(addr);
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1])
        return false;
    size_t nl = (size_t)(lt - from);
    while (nl && from[nl - 1] == ' ')
        nl--;
    snprintf(name, name_size, "%.*s", (int)nl, from);
    snprintf(addr, addr_size, "%.*s", (int)(gt - lt - 1), lt + 1);
    return mail_address_ok(addr);
}

void mail_header_text(struct mail_buf *b, const char *text)
{
    bool plain = true;
    for (const char *c = text; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u >= 0x7f || (c[0] == '=' && c[1] == '?'))
            plain = false;
    }
    if (plain && strlen(text) <= 60) {
        mail_buf_add(b, text, strlen(text));
        return;
    }
    /* Encoded words of at most 45 input bytes (60 base64 characters), split only between
     * UTF-8 characters, joined by folding white space that decoders drop (RFC 2047 6.2). */
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text), i = 0;
    bool first = true;
    while (i < n) {
        unsigned char chunk[48];
        size_t k = 0;
        while (i < n) {
            size_t clen = s[i] < 0x80 ? 1 : (s[i] >> 5) == 6 ? 2 : (s[i] >> 4) == 14 ? 3 : 4;
            if (k + clen > 45)
                break;
            for (size_t j = 0; j < clen && i < n; j++, i++)
                if (s[i] >= 0x20 && s[i] != 0x7f)
                    chunk[k++] = s[i];
        }
        if (k == 0)
            break;
        char enc[72];
        EVP_EncodeBlock((unsigned char *)enc, chunk, (int)k);
        mail_buf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
        first = false;
    }
}

/* Quoted-printable (RFC 2045 6.7) with CRLF line ends, so the .eml files stay readable. */
static void add_qp(struct mail_buf *b, const char *text)
{
    int col = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '\r')
            continue;
        if (*c == '\n') {
            mail_buf_add(b, "\r\n", 2);
            col = 0;
            continue;
        }
        char enc[4];
        bool literal = (*c >= 33 && *c <= 126 && *c != '=') ||
                       (*c == ' ' && c[1] != '\n' && c[1] != '\0');
        int w = literal ? 1 : 3;
        if (col + w > 75) {
            mail_buf_add(b, "=\r\n", 3);
            col = 0;
        }
        if (literal) {
            mail_buf_add(b, (const char *)c, 1);
        } else {
            snprintf(enc, sizeof enc, "=%02X", *c);
            mail_buf_add(b, enc, 3);
        }
        col += w;
    }
    mail_buf_add(b, "\r\n", 2);
}

int mail_build(struct mail_buf *out, const struct mail_parts *p)
{
    if (!mail_address_ok(p->from_addr) || !mail_address_ok(p->to_addr))
        return -1;
    for (const char *c = p->message_id; *c; c++)
        if (!strchr("0123456789abcdefABCDEF-", *c))
            return -1;
    for (const char *c = p->id_domain; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *c))
            return -1;
    char date[64];
    time_t t = (time_t)p->date;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    mail_buf_printf(out, "Date: %s\r\nFrom: ", date);
    if (p->from_name && *p->from_name) {
        mail_header_text(out, p->from_name);
        mail_buf_add(out, " ", 1);
    }
    mail_buf_printf(out, "<%s>\r\nTo: <%s>\r\nSubject: ", p->from_addr, p->to_addr);
    mail_header_text(out, p->subject);
    mail_buf_printf(out,
                    "\r\nMessage-ID: <%s@%s>\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Auto-Submitted: auto-generated\r\n"
                    "Content-Language: nl\r\n"
                    "Content-Type: multipart/alternative; boundary=\"" BOUNDARY "\"\r\n\r\n"
                    "--" BOUNDARY "\r\n"
                    "Content-Type: text/plain; charset=UTF-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                    p->message_id, p->id_domain);
    add_qp(out, p->text);
    mail_buf_printf(out, "--" BOUNDARY "\r\nContent-Type: text/html; charset=UTF-8\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    add_qp(out, p->html);
    mail_buf_add(out, "--" BOUNDARY "--\r\n", strlen("--" BOUNDARY "--\r\n"));
    if (out->failed) {
        mail_buf_free(out);
        return -1;
    }
    return 0;
}

struct reader {
    const char *data;
    size_t len, pos;
};

static size_t read_cb(char *ptr, size_t size, size_t n, void *arg)
{
    struct reader *r = arg;
    size_t want = size * n, left = r->len - r->pos;
    if (want > left)
        want = left;
    memcpy(ptr, r->data + r->pos, want);
    r->pos += want;
    return want;
}

enum mail_outcome mail_send_smtp(const struct mail_smtp *smtp, const char *from_addr,
                                 const char *to_addr, const char *msg, size_t len, char *err,
                                 size_t errlen)
{
    if (!mail_address_ok(to_addr)) {
        snprintf(err, errlen, "the recipient's address is not one we send to");
        return MAIL_REJECTED;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        snprintf(err, errlen, "out of memory");
        return MAIL_RETRY;
    }
    char from[300], to[300], curl_err[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof from, "<%s>", from_addr);
    snprintf(to, sizeof to, "<%s>", to_addr);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    struct reader r = {msg, len, 0};
    curl_easy_setopt(curl, CURLOPT_URL, smtp->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* STARTTLS whenever the server offers it; with starttls_required never in the clear. */
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     smtp->starttls_required ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    /* The server's certificate is always verified (libcurl's default); a private CA for an
     * internal relay is named, never switched off. */
    if (smtp->ca_file && *smtp->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, smtp->ca_file);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &r);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE, (long)len);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, smtp->timeout_s);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, smtp->timeout_s < 5 ? smtp->timeout_s : 5L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = rcpt ? curl_easy_perform(curl) : CURLE_OUT_OF_MEMORY;
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc == CURLE_OK)
        return MAIL_SENT;
    /* Don't put the URL in the error: it may carry the SMTP password. */
    snprintf(err, errlen, "SMTP %ld: %s", code, curl_err[0] ? curl_err : curl_easy_strerror(rc));
    return code >= 500 && code < 600 ? MAIL_REJECTED : MAIL_RETRY;
}

enum mail_outcome mail_write_file(const char *dir, const char *name, const char *msg, size_t len,
                                  char *err, size_t errlen)
{
    char tmp[4096], final[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.eml.tmp", dir, name);
    snprintf(final, sizeof final, "%s/%s.eml", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write in LOGEER_MAIL_DIR: %s", strerror(errno));
        return MAIL_RETRY;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, msg + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    /* fsync before the rename: a message marked sent must survive a power loss. */
    bool ok = done == len && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, final) != 0) {
        snprintf(err, errlen, "cannot write in LOGEER_MAIL_DIR: %s", strerror(errno));
        unlink(tmp);
        return MAIL_RETRY;
    }
    return MAIL_SENT;
}
