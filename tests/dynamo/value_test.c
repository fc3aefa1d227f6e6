/* Values, lists and maps (value.h) in a standalone arena. */
#include <string.h>

#include "dyn_util.h"

TestSuite(value, .init = dy_init, .fini = dy_fini, .timeout = TMO(30));

DY_TEST(value, map_keeps_insertion_order_and_replaces_in_place)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = dyn_map_new(a);
    cr_assert_eq(dyn_map_put(m, "b", dyn_vint(1)), 0);
    cr_assert_eq(dyn_map_put(m, "a", dyn_vstr("x")), 0);
    cr_assert_eq(dyn_map_put(m, "b", dyn_vint(2)), 0);
    cr_assert_eq(dyn_map_len(m), 2);
    dyn_str_t k;
    const dyn_value_t *v;
    cr_assert(dyn_map_at(m, 0, &k, &v));
    cr_assert_str_eq(k.ptr, "b");
    cr_assert_eq(v->i, 2);
    cr_assert(dyn_map_delete(m, "b"));
    cr_assert_not(dyn_map_delete(m, "b"));
    cr_assert_null(dyn_map_get(m, "b"));
    cr_assert_str_eq(dyn_value_str(dyn_map_get(m, "a"), NULL), "x");
    dyn_arena_free(a);
}

DY_TEST(value, large_map_indexes_and_stays_consistent)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = dyn_map_new(a);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        cr_assert_eq(dyn_map_put(m, key, dyn_vint(i)), 0);
    }
    for (int i = 0; i < 2000; i += 2) {
        snprintf(key, sizeof key, "key%d", i);
        cr_assert(dyn_map_delete(m, key));
    }
    cr_assert_eq(dyn_map_len(m), 1000);
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        const dyn_value_t *v = dyn_map_get(m, key);
        if (i % 2)
            cr_assert(v && v->i == i, "key%d", i);
        else
            cr_assert_null(v);
    }
    /* Keys with embedded NULs and lengths. */
    cr_assert_eq(dyn_map_putn(m, "a\0b", 3, dyn_vint(-1)), 0);
    cr_assert_null(dyn_map_get(m, "a"));
    cr_assert_eq(dyn_map_getn(m, "a\0b", 3)->i, -1);
    dyn_arena_free(a);
}

static int freed;
static void dtor(void *p)
{
    freed += *(int *)p;
}

DY_TEST(value, pointer_destructor_runs_when_the_arena_goes)
{
    dyn_arena_t *a = dyn_arena_new();
    static int one = 1, ten = 10;
    dyn_value_t p1 = dyn_vptr(a, &one, dtor);
    dyn_value_t p2 = dyn_vptr(a, &ten, dtor);
    dyn_value_t copy = p1;
    cr_assert_eq(copy.p, &one);
    cr_assert_eq(p2.type, DYN_V_PTR);
    cr_assert_eq(freed, 0);
    dyn_arena_free(a);
    cr_assert_eq(freed, 11, "each once");
}

DY_TEST(value, equality_is_deep)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_list_t *l1 = dyn_list_new(a, 1), *l2 = dyn_list_new(a, 8);
    dyn_map_t *m1 = dyn_map_new(a), *m2 = dyn_map_new(a);
    for (int i = 0; i < 10; i++) {
        dyn_list_push(l1, dyn_vint(i));
        dyn_list_push(l2, dyn_vint(i));
    }
    dyn_map_put(m1, "l", dyn_vlist(l1));
    dyn_map_put(m1, "s", dyn_vstr_copy(a, "abc", 3));
    dyn_map_put(m2, "s", dyn_vstr("abc"));
    dyn_map_put(m2, "l", dyn_vlist(l2));
    dyn_value_t a1 = dyn_vmap(m1), a2 = dyn_vmap(m2);
    cr_assert(dyn_value_equal(&a1, &a2));
    dyn_list_push(l2, dyn_vnull());
    cr_assert_not(dyn_value_equal(&a1, &a2));
    cr_assert_str_eq(dyn_vtype_name(DYN_V_MAP), "map");
    dyn_arena_free(a);
}

DY_TEST(value, buffer_escapes_html_and_prints_values)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_buf_t b;
    dyn_buf_init(&b, a, 4);
    dyn_buf_html(&b, "<a href=\"x\">&'</a>\0z", 20);
    cr_assert_str_eq(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;\xEF\xBF\xBDz");
    dyn_buf_t v;
    dyn_buf_init(&v, a, 0);
    dyn_map_t *m = dyn_map_new(a);
    dyn_map_put(m, "<k>", dyn_vstr("<v>"));
    dyn_map_put(m, "n", dyn_vfloat(0.5));
    dyn_value_t mv = dyn_vmap(m);
    dyn_buf_value(&v, &mv, true);
    cr_assert_str_eq(v.data, "{&lt;k&gt;: \"&lt;v&gt;\", n: 0.5}");
    for (int i = 0; i < 1000; i++)
        dyn_buf_printf(&v, "%d", i);
    cr_assert_not(v.failed);
    cr_assert_eq(strlen(v.data), v.len);
    dyn_arena_free(a);
}
