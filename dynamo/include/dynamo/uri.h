/*
 * Percent-decoding (RFC 3986) and application/x-www-form-urlencoded pairs (WHATWG URL): the
 * decoders behind path segments, query strings and form bodies.
 *
 * They do no I/O and allocate nothing: the caller gives the output buffer, so tests and
 * fuzzers drive them directly. Invalid input is an error code, which the framework turns into
 * a 400: a '%' not followed by two hex digits, and a decoded NUL byte (it would cut C strings
 * short and hide what follows). Limits bound the work a hostile input can cause.
 *
 * Thread contract: pure functions, any thread.
 */
#ifndef DYN_URI_H
#define DYN_URI_H

#include "dynamo/types.h"

/* Flags of dyn_percent_decode. */
#define DYN_DECODE_PLUS 1u /* '+' decodes to a space (forms, query strings) */

/* Decodes src[0..len) into dst (room for len bytes; dst may be src: decoding never grows).
 * Returns the decoded length (no NUL is added), or DYN_EBADENCODING. */
DYN_API ssize_t dyn_percent_decode(char *dst, const char *src, size_t len, unsigned flags);

/* Splits an undecoded path ("/a/b%20c//d/") into decoded segments, dropping empty ones:
 * {"a", "b c", "d"}. Each segment is decoded into buf (room for len + 1 bytes) and
 * NUL-terminated there. Returns the segment count (at most max), DYN_EBADENCODING, or
 * DYN_ELIMIT (more than max segments). */
DYN_API int dyn_path_split(const char *path, size_t len, char *buf, dyn_str_t *segs, size_t max);

/* Limits of a urlencoded decode; 0 means the default. */
typedef struct dyn_form_limits {
    uint32_t max_pairs;   /* [1000] pairs: DYN_ELIMIT past it */
    uint32_t max_key_len; /* [1024] bytes of one decoded key: DYN_ELIMIT */
} dyn_form_limits_t;

/* Called for each pair, in order: key and value decoded and NUL-terminated (a pair without
 * '=' has an empty value). Returns 0 to go on, anything else stops the decode and is
 * returned. */
typedef int (*dyn_form_pair_fn)(const char *key, size_t key_len, const char *value,
                                size_t value_len, void *arg);

/* Decodes "a=1&b=x+y&c" (split on '&', empty pieces skipped; '+' is a space): each key and
 * value is decoded into buf (room for len + 2 bytes) and handed to fn. Returns 0,
 * DYN_EBADENCODING, DYN_ELIMIT, or fn's non-zero value. lim may be NULL. */
DYN_API int dyn_urlencoded_each(const char *s, size_t len, char *buf, const dyn_form_limits_t *lim,
                                dyn_form_pair_fn fn, void *arg);

#endif
