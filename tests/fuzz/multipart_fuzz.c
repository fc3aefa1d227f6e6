/*
 * libFuzzer target: multipart/form-data bodies through the real streamed parser
 * (dyn__multipart_read), read in the pieces the fuzzer picks, with fields parsed into params
 * and file parts written to real temporary files.
 *
 * Input: byte 0 picks the read size (1..64 bytes, or a pseudo-random size per read seeded by
 * byte 1), byte 1's low bit the limits (generous, or small caps that inputs cross: 4 parts, 2
 * files of 64 bytes, 16-byte fields, 64-byte header blocks of 3 lines), the rest is the body
 * (boundary "XyZ"). The target checks that an accepted body yields params within the caps and
 * uploads whose files hold exactly their size; the arena's release closes every file (the
 * process would run out of descriptors otherwise, which libFuzzer reports).
 *
 *   build/fuzz/tests/fuzz/multipart_fuzz tests/fuzz/corpus/multipart \
 *       -dict=tests/fuzz/multipart.dict
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "multipart_int.h"

/* An invariant that holds in every build (assert would vanish under NDEBUG, which the fuzz
 * build's RelWithDebInfo sets): a violation aborts, which libFuzzer reports with the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct reader {
    const uint8_t *data;
    size_t len, off;
    size_t step; /* 0: pseudo-random */
    uint32_t seed;
} reader_t;

static ssize_t read_piece(void *arg, void *buf, size_t cap)
{
    reader_t *r = arg;
    size_t n = r->step;
    if (!n) {
        r->seed = r->seed * 1103515245u + 12345u;
        n = 1 + (r->seed >> 16) % 200;
    }
    if (n > cap)
        n = cap;
    if (n > r->len - r->off)
        n = r->len - r->off;
    memcpy(buf, r->data + r->off, n);
    r->off += n;
    return (ssize_t)n;
}

static void check_uploads(const dyn_value_t *v, const dyn__mp_limits_t *lim)
{
    if (v->type == DYN_V_PTR) {
        const dyn_upload_t *u = v->p;
        struct stat st;
        CHECK(fstat(u->fd, &st) == 0);
        CHECK((uint64_t)st.st_size == u->size);
        CHECK(u->size <= lim->max_file_size);
    } else if (v->type == DYN_V_LIST) {
        for (size_t i = 0; i < dyn_list_len(v->l); i++)
            check_uploads(dyn_list_at(v->l, i), lim);
    } else if (v->type == DYN_V_MAP) {
        const dyn_value_t *e;
        for (size_t i = 0; dyn_map_at(v->m, i, NULL, &e); i++)
            check_uploads(e, lim);
    } else if (v->type == DYN_V_STR) {
        CHECK(v->s.len <= lim->form.max_value_len);
        CHECK(dyn_utf8_valid(v->s.ptr, v->s.len));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const dyn__mp_limits_t generous = {
        .form = {.max_pairs = 1000, .max_key_len = 1024, .max_value_len = 1 << 20, .max_depth = 32},
        .max_parts = 1000,
        .max_files = 16,
        .max_file_size = 1 << 20,
        .max_body = 1 << 20,
        .max_header_size = 16384,
        .max_headers = 32,
        .upload_dir = "/tmp",
    };
    static const dyn__mp_limits_t small = {
        .form = {.max_pairs = 3, .max_key_len = 12, .max_value_len = 16, .max_depth = 2},
        .max_parts = 4,
        .max_files = 2,
        .max_file_size = 64,
        .max_body = 4096,
        .max_header_size = 64,
        .max_headers = 3,
        .upload_dir = "/tmp",
    };
    const dyn__mp_limits_t *lim = data[1] & 1 ? &small : &generous;
    reader_t r = {data + 2, size - 2, 0, data[0] % 65, data[1]};
    dyn_arena_t *a = dyn_arena_new();
    CHECK(a);
    dyn_map_t *m = dyn_map_new(a);
    dyn__upload_t *ups = NULL;
    char err[200];
    int rc = dyn__multipart_read(a, "XyZ", read_piece, &r, lim, m, &ups, err, sizeof err);
    CHECK(rc == 0 || rc == DYN_EBADENCODING || rc == DYN_ELIMIT || rc == HTTP_ETOOLARGE);
    if (rc == 0) {
        dyn_value_t root = dyn_vmap(m);
        check_uploads(&root, lim);
        unsigned files = 0;
        for (dyn__upload_t *u = ups; u; u = u->next)
            files++;
        CHECK(files <= lim->max_files);
    }
    dyn_arena_free(a);
    return 0;
}
