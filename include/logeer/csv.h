/* csv: writes RFC 4180 text for spreadsheets: comma-separated fields, CRLF after every record,
 * a field quoted when it holds a comma, a double quote, CR or LF (quotes doubled inside). Text
 * a spreadsheet would run as a formula gets a leading apostrophe. Pure: builds a string in
 * memory, no I/O. */
#ifndef LOGEER_CSV_H
#define LOGEER_CSV_H

#include <stdbool.h>
#include <stddef.h>

struct csv {
    char *buf;        /* the text so far, NUL-terminated when not failed */
    size_t len, cap;
    bool failed;      /* an allocation failed: csv_take returns NULL */
    bool mid_record;  /* a field was written since the last csv_end_record */
};

void csv_init(struct csv *c);

/* A UTF-8 byte order mark: without it Excel reads UTF-8 as the local code page and turns
 * "Hoogeveen, ë" into mojibake. Call first, or not at all. */
void csv_bom(struct csv *c);

/* One text field; NULL writes an empty field. Fields that start with '=', '+', '-', '@', tab
 * or CR are written with a leading apostrophe, so that a spreadsheet shows them instead of
 * evaluating them (a provider's free-text reason must never become a formula). */
void csv_text(struct csv *c, const char *s);

/* One number: whole numbers without a decimal point, others with up to 15 significant digits
 * and a '.' as decimal separator. */
void csv_number(struct csv *c, double v);

/* Ends the record with CRLF. */
void csv_end_record(struct csv *c);

/* Hands the text over (caller frees with free()) and resets c; NULL when anything failed. */
char *csv_take(struct csv *c, size_t *len);

void csv_free(struct csv *c);

#endif
