/*
 * HTML escaping (dynamo/src/escape.c) on arbitrary bytes: the output is always well-formed
 * UTF-8, holds no < > " ' and no NUL, and has '&' only as the start of one of the five
 * entities; input that is already well-formed UTF-8 without those characters comes out
 * unchanged; and turning the entities back gives the input with each ill-formed sequence and
 * NUL replaced by U+FFFD, checked against an independent decoder written here. The buffer
 * starts small so it grows in the middle of sequences.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynamo/template.h"

/* Kept under NDEBUG (fuzz builds are RelWithDebInfo): a failed check is a crash to report. */
#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Length of the UTF-8 sequence at p if well-formed, else 0 (the plain reading of RFC 3629). */
static size_t valid_seq(const uint8_t *p, const uint8_t *end)
{
    uint32_t c = p[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_buf_t b;
    dyn_buf_init(&b, a, 1 + (size & 15));
    dyn_html_escape(&b, (const char *)data, size);
    CHECK(!b.failed);
    const uint8_t *o = (const uint8_t *)b.data, *end = o + b.len;
    bool plain = true;
    for (const uint8_t *p = data; p < data + size;) {
        size_t n = valid_seq(p, data + size);
        if (!n || strchr("<>\"'&", *p) || *p == 0) {
            plain = false;
            break;
        }
        p += n;
    }
    if (plain) {
        CHECK(b.len == size && !memcmp(b.data, data, size));
    }
    /* decode the entities back; it must read as well-formed text */
    uint8_t *back = malloc(b.len + 1);
    size_t blen = 0;
    for (const uint8_t *p = o; p < end;) {
        CHECK(*p != '<' && *p != '>' && *p != '"' && *p != '\'' && *p != 0);
        size_t n = valid_seq(p, end);
        CHECK(n > 0);
        if (*p == '&') {
            static const char *const ent[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
            static const char rep[] = "&<>\"'";
            size_t k = 0;
            while (k < 5 &&
                   ((size_t)(end - p) < strlen(ent[k]) || memcmp(p, ent[k], strlen(ent[k]))))
                k++;
            CHECK(k < 5);
            back[blen++] = (uint8_t)rep[k];
            p += strlen(ent[k]);
            continue;
        }
        memcpy(back + blen, p, n);
        blen += n;
        p += n;
    }
    /* Dropping U+FFFD from what came back, and from the input its ill-formed bytes, NULs and
     * U+FFFD, leaves the same text: nothing else was added, lost or moved. (A continuation
     * byte never starts a sequence, so an ill-formed subpart never hides a good one.) */
    static const uint8_t fffd[] = {0xEF, 0xBF, 0xBD};
    bool bad = false;
    size_t ri = 0, gi = 0;
    for (;;) {
        while (gi < blen && blen - gi >= 3 && !memcmp(back + gi, fffd, 3))
            gi += 3;
        const uint8_t *p = data + ri;
        size_t n = 0;
        while (ri < size) {
            p = data + ri;
            n = valid_seq(p, data + size);
            if (n && *p && !(n == 3 && !memcmp(p, fffd, 3)))
                break;
            bad |= !n || !*p;
            ri += n ? n : 1;
            n = 0;
        }
        if (ri >= size || gi >= blen) {
            CHECK(ri >= size && gi >= blen);
            break;
        }
        CHECK(gi + n <= blen && !memcmp(back + gi, p, n));
        ri += n;
        gi += n;
    }
    if (bad)
        CHECK(memmem(back, blen, fffd, 3));
    free(back);
    dyn_arena_free(a);
    return 0;
}
