/*
 * Session internals: the compact encoding session values travel in (to a cookie, to the store
 * actor), and the decode paths of both stores, apart so that tests and fuzzers drive them with
 * fixed keys and no conn.
 */
#ifndef DYN_SESSION_INT_H
#define DYN_SESSION_INT_H

#include "dynamo/buf.h"
#include "dynamo/crypto.h"
#include "dynamo/session.h"

/* ---- values (session_codec.c) ------------------------------------------------------------- */

/* Encoding, version 1: a byte 1, then the map as a value. A value is a tag and its payload:
 *   'n' null | 't' true | 'f' false | 'i' zigzag LEB128 int | 'd' 8-byte IEEE double (BE)
 *   's' LEB128 length, bytes | 'l' LEB128 count, values | 'm' LEB128 count, (LEB128 key length,
 *   key bytes, value) pairs
 * Maps keep their order. Pointer values cannot be encoded. */
#define DYN__TERM_VERSION 1

/* Limits of a decode; 0 means the default. */
typedef struct dyn__term_limits {
    uint32_t max_depth; /* [16] nested lists and maps */
    uint32_t max_items; /* [4096] values in all */
} dyn__term_limits_t;

/* Appends the encoding of map m to b. Returns 0, ACT_EBADARG with *bad set to the key path of
 * a pointer value (in b's arena), DYN_ELIMIT (deeper than 64), or ACT_ENOMEM (b failed). */
int dyn__term_encode(dyn_buf_t *b, const dyn_map_t *m, const char **bad);

/* Decodes len bytes into a new map in arena a. Never trusts the input: every length is checked
 * against what remains, counts against the limits, keys holding NUL and trailing bytes are
 * refused. Returns 0 with *out, -EBADMSG, DYN_ELIMIT, or ACT_ENOMEM. lim may be NULL. */
int dyn__term_decode(dyn_arena_t *a, const void *data, size_t len, const dyn__term_limits_t *lim,
                     dyn_map_t **out);

/* A deep copy of v in arena a (strings, lists and maps copied). Returns 0, ACT_EBADARG for a
 * pointer value anywhere inside, DYN_ELIMIT past 64 levels, or ACT_ENOMEM. */
int dyn__value_copy(dyn_arena_t *a, const dyn_value_t *v, dyn_value_t *out);

/* ---- the stores' decode paths ------------------------------------------------------------- */

/* The cookie store: a session cookie's value to its map, with the keyring and purpose the
 * store uses (encrypted, or signed when `signed_only`), at most max_items values (0: the
 * default). Any failure of the cookie is an empty map, never an error: returns 0 with *out (a
 * new empty map when *ok is false), or ACT_ENOMEM. */
int dyn__cookie_session_decode(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                               bool signed_only, uint32_t max_items, const char *cookie, size_t len,
                               dyn_map_t **out, bool *ok);

/* The server store: a session cookie's value to the session id it signs (the raw id bytes,
 * DYN__SID_LEN of them). Returns true if the cookie holds a valid id. */
#define DYN__SID_LEN 32
bool dyn__server_session_id(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                            const char *cookie, size_t len, uint8_t sid[DYN__SID_LEN]);

#endif
