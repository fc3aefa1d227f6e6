/*
 * libFuzzer target: the static plug's header parsers (Range, HTTP dates, entity-tag lists,
 * Accept-Encoding), with their answers checked.
 *
 * The first 8 bytes are a file size (little-endian; small sizes are made likely), the rest the
 * field's text. Checks: a range is inside the file (first <= last < size) and "unsatisfiable"
 * only for a non-empty file; a date that parses formats back to the same instant (when its
 * year has four digits) and a formatted date always parses; the parsers never read past the
 * text (ASan) whatever it holds.
 *
 *   build/fuzz/tests/fuzz/range_fuzz tests/fuzz/corpus/range -max_total_time=60
 */
#include "fuzz_check.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "static_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t fsize = 0;
    memcpy(&fsize, data, 8);
    if (data[0] & 1)
        fsize %= 4096; /* mostly small files, where the edges are */
    char *field = malloc(size - 8 + 1);
    memcpy(field, data + 8, size - 8);
    field[size - 8] = '\0';

    dyn__range_t r = {0, 0};
    int v = dyn__range_parse(field, fsize, &r);
    CHECK(v == DYN__RANGE_IGNORE || v == DYN__RANGE_ONE || v == DYN__RANGE_UNSATISFIABLE);
    if (v == DYN__RANGE_ONE)
        CHECK(r.first <= r.last && r.last < fsize);
    if (v == DYN__RANGE_UNSATISFIABLE)
        CHECK(fsize > 0);

    time_t now = 1718000000, t;
    if (dyn__http_date_parse((const char *)data + 8, size - 8, now, &t)) {
        char s[DYN__HTTP_DATE_LEN + 1];
        dyn__http_date_format(t, s);
        time_t back;
        CHECK(dyn__http_date_parse(s, DYN__HTTP_DATE_LEN, now, &back));
        if (t >= 0 && t < (time_t)253402300800) /* years 1970..9999 */
            CHECK(back == t);
    }
    char stamp[DYN__HTTP_DATE_LEN + 1];
    dyn__http_date_format((time_t)(fsize % 253402300800u), stamp);
    CHECK(dyn__http_date_parse(stamp, DYN__HTTP_DATE_LEN, now, &t));
    CHECK(t == (time_t)(fsize % 253402300800u));

    int m = dyn__etag_list_match(field, "\"10-abc\"", data[1] & 1);
    CHECK(m == DYN__ETAG_MATCH || m == DYN__ETAG_NOMATCH || m == DYN__ETAG_INVALID);
    (void)dyn__accepts_gzip(field);
    (void)dyn__mime_lookup(field, strlen(field));
    free(field);
    return 0;
}
