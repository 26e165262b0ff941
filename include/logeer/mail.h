/* mail: one email as bytes (RFC 5322 + MIME multipart/alternative, plain text and HTML) and its
 * two ways out: SMTP through libcurl (STARTTLS when offered, or required) or one .eml file per
 * message. Building is pure; sending and writing block and run on notify's worker threads.
 * Header injection is impossible by construction: addresses are checked to a strict shape and
 * every header text is encoded (RFC 2047), so no CR or LF reaches a header. */
#ifndef LOGEER_MAIL_H
#define LOGEER_MAIL_H

#include <stdbool.h>
#include <stddef.h>

/* A growable byte buffer; text is NUL-terminated. */
struct mail_buf {
    char *text;
    size_t len, cap;
    bool failed;   /* out of memory at some append: the text is incomplete */
};
void mail_buf_free(struct mail_buf *b);
void mail_buf_add(struct mail_buf *b, const char *s, size_t n);
void mail_buf_printf(struct mail_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTML-escapes s (&, <, >, ", ') onto b. */
void mail_buf_add_html(struct mail_buf *b, const char *s);

/* An addr-spec we are willing to put in a header: printable ASCII without spaces, quotes,
 * angle brackets, commas, semicolons or backslashes, one '@' with text on both sides and a dot
 * in the domain, at most 254 bytes. */
bool mail_address_ok(const char *addr);

/* LOGEER_MAIL_FROM: "addr" or "Display Name <addr>"; the address goes to *addr (in buf). */
bool mail_from_parse(const char *from, char *name, size_t name_size, char *addr, size_t addr_size);

/* Appends an RFC 2047 encoded-word form of UTF-8 text (base64, folded) when it needs one,
 * else the text itself. Control characters are dropped. */
void mail_header_text(struct mail_buf *b, const char *text);

struct mail_parts {
    const char *from_name;   /* may be "" */
    const char *from_addr;   /* checked by mail_address_ok */
    const char *to_addr;     /* checked by mail_address_ok */
    const char *subject;     /* UTF-8 */
    const char *message_id;  /* left part of Message-ID, e.g. the stable message uuid */
    const char *id_domain;   /* right part of Message-ID */
    const char *text;        /* UTF-8 plain text body */
    const char *html;        /* UTF-8 HTML body */
    long long date;          /* unix time for the Date header */
};

/* The whole message with CRLF line ends. -1 (and nothing usable in out) when an address is
 * refused or memory ran out. */
__attribute__((warn_unused_result))
int mail_build(struct mail_buf *out, const struct mail_parts *p);

enum mail_outcome {
    MAIL_SENT,
    MAIL_RETRY,      /* network trouble, a 4xx reply: try again later */
    MAIL_REJECTED,   /* a 5xx reply or a refused address: trying again will not help */
};

struct mail_smtp {
    const char *url;          /* smtp://[user:password@]host[:port] or smtps://... */
    bool starttls_required;   /* refuse to send in the clear */
    long timeout_s;
    const char *ca_file;      /* LOGEER_SMTP_CA: CAs that may sign the server; NULL: system's */
};

/* Sends msg to to_addr; blocks (worker threads only). err gets a one-line reason. */
enum mail_outcome mail_send_smtp(const struct mail_smtp *smtp, const char *from_addr,
                                 const char *to_addr, const char *msg, size_t len, char *err,
                                 size_t errlen);

/* Writes msg to dir/<name>.eml through a temporary file and a rename, so a reader never sees
 * half a message and a repeat replaces the same file. */
enum mail_outcome mail_write_file(const char *dir, const char *name, const char *msg, size_t len,
                                  char *err, size_t errlen);

#endif
