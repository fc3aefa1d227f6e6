/*
 * Output buffers: text built piece by piece in an arena (error pages, rendered templates),
 * with HTML escaping for anything that comes from a request.
 *
 *     dyn_buf_t b;
 *     dyn_buf_init(&b, dyn_conn_arena(conn), 1024);
 *     dyn_buf_puts(&b, "<p>Hello, ");
 *     dyn_buf_html(&b, name, strlen(name));   // & < > " ' escaped
 *     dyn_buf_puts(&b, "</p>");
 *     return dyn_resp_borrow(conn, 200, b.data, b.len);
 *
 * A buffer grows by doubling in its arena (the old block stays until the arena goes: the cost
 * of a bump allocator, bounded by 2x). If memory runs out the buffer keeps what it had and
 * `failed` is set; appends then do nothing.
 *
 * Thread contract: like its arena.
 */
#ifndef DYN_BUF_H
#define DYN_BUF_H

#include <stdarg.h>

#include "dynamo/arena.h"
#include "dynamo/value.h"

typedef struct dyn_buf {
    char *data; /* NUL-terminated while not failed */
    size_t len;
    size_t cap;
    dyn_arena_t *arena;
    bool failed; /* an allocation failed: the content is truncated */
} dyn_buf_t;

/* Starts an empty buffer with room for cap bytes (0: 256). */
DYN_API void dyn_buf_init(dyn_buf_t *b, dyn_arena_t *a, size_t cap);
DYN_API void dyn_buf_put(dyn_buf_t *b, const void *data, size_t len);
/* Makes room for `more` bytes past the content and its NUL, for writers that fill data + len
 * themselves (an encoder's inner loop) and then add what they wrote to len and write the NUL.
 * Returns false (failed set) if memory runs out. */
DYN_API bool dyn_buf_reserve(dyn_buf_t *b, size_t more);
DYN_API void dyn_buf_puts(dyn_buf_t *b, const char *s);
DYN_API __attribute__((format(printf, 2, 3))) void dyn_buf_printf(dyn_buf_t *b, const char *fmt,
                                                                  ...);
DYN_API __attribute__((format(printf, 2, 0))) void dyn_buf_vprintf(dyn_buf_t *b, const char *fmt,
                                                                   va_list ap);
/* Appends s[0..len) HTML-escaped: & < > " ' become entities, so the text is safe in element
 * content and in quoted attribute values; NUL bytes become U+FFFD. */
DYN_API void dyn_buf_html(dyn_buf_t *b, const char *s, size_t len);
/* Appends a value as text (strings as they are, numbers in decimal, true/false, lists and
 * maps in a JSON-like notation), HTML-escaped when html is true. */
DYN_API void dyn_buf_value(dyn_buf_t *b, const dyn_value_t *v, bool html);

#endif
