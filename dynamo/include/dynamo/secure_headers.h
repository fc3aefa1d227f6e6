/*
 * Secure browser headers (Phoenix's put_secure_browser_headers) as a plug: every response
 * gets headers that switch on browsers' defences.
 *
 *     DYN_PLUG(dyn_plug_secure_headers, NULL)
 *
 * The defaults, Phoenix's set:
 *   x-frame-options: SAMEORIGIN                   no framing by other sites (clickjacking)
 *   x-content-type-options: nosniff               content types are not guessed
 *   referrer-policy: strict-origin-when-cross-origin
 *   x-permitted-cross-domain-policies: none       no Flash/PDF cross-domain policy files
 *   x-download-options: noopen                    old IE: downloads are not opened in place
 *   content-security-policy: base-uri 'self'; frame-ancestors 'self'
 * Options replace or remove any of them and add others (HSTS, for a site only served over
 * HTTPS: {"strict-transport-security", "max-age=31536000; includeSubDomains"}). The headers
 * are put when the plug runs: a route may still change or delete them.
 *
 * Thread contract: a plug (plug.h).
 */
#ifndef DYN_SECURE_HEADERS_H
#define DYN_SECURE_HEADERS_H

#include "dynamo/plug.h"

/* A header to put (value NULL: do not send this default); lists end with {NULL, NULL}. */
typedef struct dyn_header_pair {
    const char *name;
    const char *value;
} dyn_header_pair_t;

typedef struct dyn_secure_headers_opts {
    const dyn_header_pair_t *headers; /* over the defaults (same name replaces, NULL value
                                         removes, new names add) */
    bool no_defaults;                 /* only `headers` */
} dyn_secure_headers_opts_t;

/* The plug. Options: dyn_secure_headers_opts_t or NULL. init fails for a header name that is
 * not a token or a value with CR or LF. */
DYN_API extern const dyn_plug_t dyn_plug_secure_headers;

#endif
