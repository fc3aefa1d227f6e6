/*
 * Percent-decoding (RFC 3986) and application/x-www-form-urlencoded pairs (WHATWG URL): the
 * decoders behind path segments, query strings and form bodies; and nested parameters, the
 * way Plug (Plug.Conn.Query) and Rails read form keys:
 *
 *     user[name]=José&user[langs][]=c&user[langs][]=erlang&page=2
 *     -> {"user": {"name": "José", "langs": ["c", "erlang"]}, "page": "2"}
 *
 * They do no I/O, so tests and fuzzers drive them directly. The pair decoders allocate
 * nothing (the caller gives the output buffer); the params functions allocate in the arena of
 * the map they fill. Invalid input is an error code, which the framework turns into a 400: a
 * '%' not followed by two hex digits, a decoded NUL byte (it would cut C strings short and
 * hide what follows), and for params bytes that are not UTF-8. Limits bound the work a hostile
 * input can cause (DYN_ELIMIT, a 413).
 *
 * Thread contract: pure functions, any thread.
 */
#ifndef DYN_URI_H
#define DYN_URI_H

#include "dynamo/types.h"
#include "dynamo/value.h"

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
    uint32_t max_pairs;     /* [1000] pairs: DYN_ELIMIT past it */
    uint32_t max_key_len;   /* [1024] bytes of one decoded key: DYN_ELIMIT */
    uint32_t max_value_len; /* [1 MiB] bytes of one decoded value: DYN_ELIMIT */
    uint32_t max_depth;     /* [32] nesting levels of one params key ("a[b][]" has 2):
                               DYN_ELIMIT (dyn_params_put) */
    bool any_bytes;         /* params keys and values may be any bytes; by default they must
                               be UTF-8 (DYN_EBADENCODING), as Plug's validate_utf8 */
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

/* ---- nested parameters ------------------------------------------------------------------- */

/* Puts v under a form key into params, nesting as Plug does. A key ending in ']' with a '['
 * after its first byte is a path: "user[name]" is params["user"]["name"], "a[b][c]" three
 * levels, and an empty segment appends to a list: "tags[]" pushes onto params["tags"]. Any
 * other key is taken whole ("a[b", "[x]", "a]"). Later values win: a key given twice keeps the
 * last value, and a key used both as a value and as a map or list ("a=1&a[b]=2") keeps the
 * shape of the last one. In a list of maps ("users[][name]=a&users[][age]=3&users[][name]=b")
 * a key goes into the list's last map unless that map has it already, which starts a new map:
 * [{"name": "a", "age": "3"}, {"name": "b"}] (Rails' rule; Plug leaves this unspecified).
 * Numbered keys ("users[0][name]") are map keys ("0"): lists come only from "[]".
 * Strings in v are borrowed; keys are copied into params' arena. Returns 0, DYN_ELIMIT (past
 * lim->max_depth or max_key_len) or ACT_ENOMEM. lim may be NULL. */
DYN_API int dyn_params_put(dyn_map_t *params, const char *key, size_t key_len, dyn_value_t v,
                           const dyn_form_limits_t *lim);

/* Decodes a urlencoded string ("a=1&user[name]=x", a query string or a form body) into params,
 * each pair put with dyn_params_put (pairs without '=' get ""). The decoded strings live in
 * params' arena. Returns 0, DYN_EBADENCODING (a bad percent-encoding, a NUL, or a key or value
 * that is not UTF-8 unless lim->any_bytes), DYN_ELIMIT (lim's caps), or ACT_ENOMEM. lim may be
 * NULL. */
DYN_API int dyn_urlencoded_params(const char *s, size_t len, dyn_map_t *params,
                                  const dyn_form_limits_t *lim);

/* The value under a form key ("user[name]", "tags[1]": a number indexes a list), read the way
 * dyn_params_put writes it; NULL if absent. */
DYN_API const dyn_value_t *dyn_params_get(const dyn_map_t *params, const char *key);

/* True if s[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past
 * U+10FFFF). */
DYN_API bool dyn_utf8_valid(const char *s, size_t len);

#endif
