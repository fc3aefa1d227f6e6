/* Percent-decoding, path segments and urlencoded pairs (uri.h): valid and hostile inputs. */
#include <string.h>

#include "dyn_util.h"
#include "dynamo/uri.h"

TestSuite(uri, .timeout = TMO(30));

static const char *decode(const char *s, unsigned flags)
{
    static char out[256];
    ssize_t n = dyn_percent_decode(out, s, strlen(s), flags);
    if (n < 0)
        return NULL;
    out[n] = '\0';
    return out;
}

Test(uri, percent_decoding)
{
    cr_assert_str_eq(decode("a%20b%2Fc%c3%A9", 0), "a b/c\xC3\xA9");
    cr_assert_str_eq(decode("a+b", 0), "a+b");
    cr_assert_str_eq(decode("a+b", DYN_DECODE_PLUS), "a b");
    cr_assert_null(decode("%", 0));
    cr_assert_null(decode("%2", 0));
    cr_assert_null(decode("%g0", 0));
    cr_assert_null(decode("a%00b", 0), "a decoded NUL is refused");
    cr_assert_str_eq(decode("", 0), "");
}

Test(uri, path_split_drops_empty_segments_and_checks_the_limit)
{
    char buf[64];
    dyn_str_t segs[4];
    const char *p = "//a/b%20c///d/";
    int n = dyn_path_split(p, strlen(p), buf, segs, 4);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(segs[0].ptr, "a");
    cr_assert_str_eq(segs[1].ptr, "b c");
    cr_assert_eq(segs[1].len, 3);
    cr_assert_str_eq(segs[2].ptr, "d");
    cr_assert_eq(dyn_path_split("/", 1, buf, segs, 4), 0);
    cr_assert_eq(dyn_path_split("/a/b/c/d/e", 10, buf, segs, 4), DYN_ELIMIT);
    cr_assert_eq(dyn_path_split("/a/%zz", 6, buf, segs, 4), DYN_EBADENCODING);
}

typedef struct pairs {
    char text[512];
} pairs_t;

static int collect(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    pairs_t *p = arg;
    cr_assert_eq(strlen(k), kl);
    cr_assert_eq(strlen(v), vl);
    size_t l = strlen(p->text);
    snprintf(p->text + l, sizeof p->text - l, "[%s=%s]", k, v);
    return 0;
}

static int run(const char *s, const dyn_form_limits_t *lim, pairs_t *p)
{
    char buf[512];
    memset(p, 0, sizeof *p);
    return dyn_urlencoded_each(s, strlen(s), buf, lim, collect, p);
}

Test(uri, urlencoded_pairs)
{
    pairs_t p;
    cr_assert_eq(run("a=1&b=x+y&&c&d=&=e&f%5B%5D=%26%3D", NULL, &p), 0);
    cr_assert_str_eq(p.text, "[a=1][b=x y][c=][d=][=e][f[]=&=]");
    cr_assert_eq(run("a=%zz", NULL, &p), DYN_EBADENCODING);
    cr_assert_eq(run("a%0=1", NULL, &p), DYN_EBADENCODING);
    dyn_form_limits_t lim = {.max_pairs = 2, .max_key_len = 3};
    cr_assert_eq(run("a=1&b=2", &lim, &p), 0);
    cr_assert_eq(run("a=1&b=2&c=3", &lim, &p), DYN_ELIMIT);
    cr_assert_eq(run("abcd=1", &lim, &p), DYN_ELIMIT);
    cr_assert_eq(run("abc=1", &lim, &p), 0);
}

static int stop_at_b(const char *k, size_t kl, const char *v, size_t vl, void *arg)
{
    (void)kl;
    (void)v;
    (void)vl;
    (*(int *)arg)++;
    return strcmp(k, "b") == 0 ? 7 : 0;
}

Test(uri, urlencoded_callback_stops_the_decode)
{
    char buf[32];
    int seen = 0;
    cr_assert_eq(dyn_urlencoded_each("a&b&c", 5, buf, NULL, stop_at_b, &seen), 7);
    cr_assert_eq(seen, 2);
}
