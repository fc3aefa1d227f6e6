/*
 * Parsing without I/O: a request head through llhttp, and request body framing.
 *
 * Nothing here reads a socket, so the connection actor, the tests and the fuzz target drive the
 * same code with byte buffers. llhttp's own names stay in parser.c: its state is opaque here.
 *
 * A head is parsed in place. The caller keeps the bytes of the message contiguous in one
 * buffer from the message's first byte (`start`) while it feeds more; offsets in http__head_t
 * are relative to `start`, so the caller may move the bytes (compact, grow) between calls.
 *
 * Bodies are decoded by our own code, llhttp stopping at the end of the head: llhttp 8.1
 * rejects valid chunk extensions (two extensions with values), and a decoder that only
 * consumes a chunk-size line or a trailer section once it is whole needs no state beyond a
 * few counters (http__body_t), so a connection holds no buffer for it between reads.
 */
#ifndef HTTP_PARSER_INT_H
#define HTTP_PARSER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

/* Results besides HTTP status codes (>= 400), which mean "answer this and close". */
enum {
    HTTP__P_MORE = 0, /* all input consumed; feed more */
    HTTP__P_HEAD = 1, /* a head is complete */
    HTTP__P_END = 2,  /* the body is complete */
};

/* llhttp's state plus ours; opaque outside parser.c (static_assert there). */
typedef struct http__parser {
    _Alignas(8) unsigned char opaque[176];
} http__parser_t;

typedef struct http__head {
    uint32_t off;     /* first byte of the request line, from start (empty lines before it) */
    uint32_t len;     /* bytes of the head from off, the final empty line included */
    uint32_t url_off; /* the request target, from off */
    uint32_t url_len;
    uint8_t method;  /* http_method_t */
    uint8_t version; /* 10 or 11 */
    bool keepalive;  /* the client's wish: HTTP/1.1 unless Connection: close, HTTP/1.0 with
                        Connection: keep-alive */
    bool chunked;    /* Transfer-Encoding ends with chunked */
    bool has_te;     /* a Transfer-Encoding header was present */
    bool has_cl;
    uint64_t content_length;
} http__head_t;

/* The bytes of a token (RFC 9110 5.6.2: field names, methods, codings, chunk extensions). */
extern const bool http__tchar[256];

/* Resets p for the message whose bytes begin at `start` of the caller's buffer. */
void http__parser_init(http__parser_t *p, const http_limits_t *lim);

/* Feeds buf[*parsed, end) to the head of the message that begins at buf[start]. Returns
 * HTTP__P_MORE (*parsed = end), HTTP__P_HEAD (*head filled, *parsed = just past the head), or
 * the status of a bad head: 400, 414 (target too long), 431 (headers too large or too many),
 * 501 (unknown method), 505 (version). */
int http__parse_head(http__parser_t *p, const char *buf, uint32_t start, uint32_t *parsed,
                     uint32_t end, http__head_t *head);

/* True once a byte of the request line arrived (empty lines before it do not count). */
bool http__parser_began(const http__parser_t *p);

/* Body framing of one request. */
enum { HTTP__B_NONE = 0, HTTP__B_LENGTH, HTTP__B_CHUNKED };
typedef struct http__body {
    uint64_t left;       /* LENGTH: bytes left; CHUNKED: bytes left in the current chunk */
    uint64_t total : 48; /* body bytes decoded so far (256 TiB: past any limit) */
    uint64_t mode : 8;
    uint64_t state : 8; /* CHUNKED: where the decoder is */
} http__body_t;

/* Longest chunk-size line (size and extensions) accepted. */
#define HTTP__CHUNK_LINE_MAX 4096

void http__body_init(http__body_t *b, int mode, uint64_t length);
/* True once the whole body was consumed. */
bool http__body_done(const http__body_t *b);
/* True while a chunked body's trailer section is due: the decoder takes it only whole, so the
 * buffer must hold all of it (up to max_header_size). */
bool http__body_in_trailers(const http__body_t *b);

/* One call of the body decoder: its input and output, then what it did. */
typedef struct http__body_io {
    const char *in; /* input bytes */
    size_t inlen;
    char *out; /* body bytes go here (NULL: discarded, without limit) */
    size_t outcap;
    size_t used;     /* result: input consumed (<= inlen), whatever the return value (on an
                        error, what was consumed before it) */
    size_t produced; /* result: body bytes written (<= outcap) */
    size_t tr_off;   /* result, on HTTP__P_END: in[tr_off, tr_off + tr_len) holds the trailer
                        field lines, each with its CRLF, validated (tr_len 0: none) */
    size_t tr_len;
} http__body_io_t;

/* Decodes body bytes from io->in into io->out. Returns HTTP__P_MORE (needs more input, or out
 * is full), HTTP__P_END (the body is complete), or 400 (malformed framing) / 431 (trailers too
 * large); io's results are written whatever it returns. */
int http__body_decode(http__body_t *b, const http_limits_t *lim, http__body_io_t *io);

/* True for a field that must never come in a trailer (RFC 9110 6.5.1): message framing,
 * routing, connection management, request modifiers, authentication and content format (name
 * in any case). A component that merged one into the header section would read another message
 * than we did (a Transfer-Encoding or Content-Length there is a smuggling attempt): a request
 * body with one is refused, and a handler may not send one. */
bool http__trailer_forbidden(const char *name, size_t n);

/* Splits validated trailer field lines (from http__body_decode) in place: lowercases names,
 * NUL-terminates names and values. Fills at most max entries of out; returns the count. */
size_t http__fields_split(char *lines, size_t len, http_header_t *out, size_t max);

#endif
