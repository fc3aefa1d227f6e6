/* Byte-level text checks the framework shares (text.c): RFC 9110 tokens and UTF-8 sequences,
 * one implementation each for headers, cookies, media types, JSON, HTML escaping and forms. */
#ifndef DYN_TEXT_INT_H
#define DYN_TEXT_INT_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 9110 tchar, by table: names are checked byte by byte on every request. */
extern const bool dyn__tchars[256];

static inline bool dyn__tchar(unsigned char c)
{
    return dyn__tchars[c];
}

/* Whether s[0..n) is a token: one or more tchars. */
bool dyn__is_token(const char *s, size_t n);

/* The length of the well-formed UTF-8 sequence at s[0..n) (s[0] >= 0x80), or 0 with *bad set
 * to the length of its maximal ill-formed subpart (at least 1), which one U+FFFD replaces
 * (Unicode's "maximal subpart" practice). Overlongs, surrogates and code points past U+10FFFF
 * are ill-formed. */
size_t dyn__utf8_seq(const unsigned char *s, size_t n, size_t *bad);

#endif
