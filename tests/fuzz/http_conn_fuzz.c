/*
 * libFuzzer target: random bytes through a connection's protocol logic, without sockets.
 *
 * The input is the byte stream a client sends. The first byte picks how it is cut into reads
 * (1..32 bytes, or all at once), the second the size of the handler's body reads. The target
 * then plays the connection actor's part over an in-memory buffer, as conn.c does: heads parsed
 * in place as reads arrive (compacting the buffer between them), each head copied and split
 * into a request, each body decoded piece by piece (Content-Length or chunked, trailers split
 * like a fiber does), then the next pipelined request; bad input ends the stream as the
 * server's answer would. ASan and UBSan watch every byte; the asserts check the offsets the
 * parser reports against the buffer.
 *
 *   scripts/fuzz.sh 300 http_conn_fuzz
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "req_int.h"

static const http_limits_t lim = {
    .max_request_line = 1024,
    .max_header_size = 2048,
    .max_headers = 32,
    .max_body_size = 65536,
    .header_timeout_ms = 1,
    .body_timeout_ms = 1,
    .idle_timeout_ms = 1,
    .write_timeout_ms = 1,
    .max_keepalive = 100,
    .max_connections = 1,
    .max_skip_body = 4096,
};

#define BUF_CAP 8192

typedef struct {
    char data[BUF_CAP];
    uint32_t start, parsed, end;
} buf_t;

static void check_str(const char *s)
{
    assert(s != NULL);
    (void)strlen(s); /* NUL-terminated inside the arena (ASan checks the bytes) */
}

/* A request as conn.c builds it; returns 0 or the status the server would answer. */
static int build(const char *head, const http__head_t *h)
{
    static char arena[16384];
    http_req_t req;
    memset(&req, 0, sizeof req);
    req.arena.cur = arena;
    req.arena.end = arena + sizeof arena;
    char *copy = http__arena_alloc(&req.arena, h->len);
    assert(copy);
    memcpy(copy, head, h->len);
    int st = http__req_fill(&req, copy, h, &lim);
    if (st == 0) {
        check_str(req.method_str);
        check_str(req.target);
        check_str(req.path);
        check_str(req.query);
        check_str(req.host);
        for (uint32_t i = 0; i < req.nheaders; i++) {
            assert(strlen(req.headers[i].name) == req.headers[i].name_len);
            assert(strlen(req.headers[i].value) == req.headers[i].value_len);
        }
        assert(req.version == 10 || req.version == 11);
    }
    http__arena_blk_t *b = req.arena.extra;
    while (b) {
        http__arena_blk_t *next = b->next;
        act_free(b);
        b = next;
    }
    return st ? st : (req.chunked ? -1 : (int)0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t cut = data[0] % 33; /* 0: one read for everything */
    size_t piece = (size_t)(data[1] % 64) + 1;
    data += 2;
    size -= 2;
    static buf_t b;
    b.start = b.parsed = b.end = 0;
    http__parser_t p;
    bool parsing = false;
    enum { HEAD, BODY } phase = HEAD;
    http__body_t body;
    size_t pos = 0;
    int requests = 0;
    for (;;) {
        /* A read: as much as fits, in `cut`-byte pieces. */
        if (pos < size) {
            if (b.end == BUF_CAP && b.start > 0) {
                uint32_t n = b.end - b.start;
                memmove(b.data, b.data + b.start, n);
                b.parsed -= b.start;
                b.end = n;
                b.start = 0;
            }
            size_t room = BUF_CAP - b.end;
            size_t n = size - pos;
            if (cut && n > cut)
                n = cut;
            if (n > room)
                n = room;
            if (n == 0)
                return 0; /* a head that fills the buffer: the server answers 431 */
            memcpy(b.data + b.end, data + pos, n);
            b.end += (uint32_t)n;
            pos += n;
        }
        bool progress = true;
        while (progress) {
            progress = false;
            if (phase == HEAD) {
                if (b.start == b.end)
                    break;
                if (!parsing) {
                    http__parser_init(&p, &lim);
                    parsing = true;
                    b.parsed = b.start;
                }
                http__head_t h;
                int r = http__parse_head(&p, b.data, b.start, &b.parsed, b.end, &h);
                assert(b.parsed <= b.end && b.parsed >= b.start);
                if (r >= 400)
                    return 0; /* answered, closed */
                if (r == HTTP__P_MORE) {
                    if (!http__parser_began(&p))
                        b.start = b.parsed;
                    break;
                }
                assert(r == HTTP__P_HEAD);
                assert(h.off + h.len == b.parsed - b.start);
                assert(h.url_off + h.url_len <= h.len);
                assert(h.len >= 4 &&
                       memcmp(b.data + b.start + h.off + h.len - 4, "\r\n\r\n", 4) == 0);
                int st = build(b.data + b.start + h.off, &h);
                b.start = b.parsed;
                parsing = false;
                if (st > 0)
                    return 0;
                if (st < 0)
                    http__body_init(&body, HTTP__B_CHUNKED, 0);
                else
                    http__body_init(&body, HTTP__B_LENGTH, h.content_length);
                phase = BODY;
                progress = true;
                if (++requests > 1000)
                    return 0;
            } else {
                char out[64];
                http__body_io_t io = {
                    .in = b.data + b.start, .inlen = b.end - b.start, .out = out, .outcap = piece};
                int r = http__body_decode(&body, &lim, &io);
                size_t prod = io.produced, tlen = io.tr_len;
                /* Written whatever the result (a garbage `used` once overflowed the server). */
                assert(io.used <= b.end - b.start && prod <= piece);
                if (r >= 400)
                    return 0;
                if (r == HTTP__P_END && tlen) {
                    assert(io.tr_off + tlen <= io.used);
                    char tr[BUF_CAP + 1];
                    memcpy(tr, b.data + b.start + io.tr_off, tlen);
                    tr[tlen] = '\0';
                    http_header_t f[64];
                    size_t n = http__fields_split(tr, tlen, f, 64);
                    for (size_t i = 0; i < n; i++)
                        assert(strlen(f[i].name) == f[i].name_len);
                }
                b.start += (uint32_t)io.used;
                if (body.total > lim.max_body_size)
                    return 0;
                if (r == HTTP__P_END) {
                    phase = HEAD;
                    progress = true;
                } else {
                    progress = prod > 0;
                }
            }
        }
        if (pos >= size)
            return 0;
    }
}
