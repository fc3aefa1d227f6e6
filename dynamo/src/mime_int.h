/*
 * Media types and header parameters (RFC 9110 section 5.6.6, 8.3.1): the Content-Type of a
 * body ("multipart/form-data; boundary=x") and a part's Content-Disposition ("form-data;
 * name=\"a\"; filename=\"b.txt\"").
 *
 * Lenient where clients are: names compare in any case, whitespace around ';' and '=' is
 * skipped, a quoted-string's backslash escapes only '"' and '\' (browsers send Windows paths
 * with bare backslashes, and the HTML form encoding writes a quote as %22, never \"). Pure
 * functions, any thread.
 */
#ifndef DYN_MIME_INT_H
#define DYN_MIME_INT_H

#include "dynamo/types.h"

/* Splits "type/subtype; params" (leading whitespace skipped): *type and *sub point into ct,
 * *params at what follows the subtype (";..." or ""). Returns false if ct has no "x/y" made of
 * token characters. */
bool dyn__mime_split(const char *ct, dyn_str_t *type, dyn_str_t *sub, const char **params);

/* Finds parameter `name` in params (";a=1; b=\"x y\""), writing its value (unquoted,
 * unescaped) into out (cap bytes, NUL-terminated). Returns the value's length, -1 if absent,
 * DYN_EBADENCODING if the list is malformed (an unterminated quote, a missing '=') and
 * DYN_ELIMIT if the value does not fit. The first occurrence wins. */
ssize_t dyn__mime_param(const char *params, const char *name, char *out, size_t cap);

/* True if s[0..len) equals the lowercase ASCII lit in any case. */
bool dyn__ieq(const char *s, size_t len, const char *lit);

#endif
