/*
 * template_bench: renders the fruits page of apps/fruits (web/templates/fruits.html.eex, the
 * Dynamo README's template) with N fruits, as a request would: a fresh arena, the assigns
 * built once, the output HTML-escaped into one contiguous buffer. Prints JSON lines:
 *
 *   {"peer":"dynamo","bench":"template_fruits","items":1000,"metric":"renders_per_s",...}
 *   {"peer":"dynamo","bench":"template_fruits","items":1000,"metric":"ns_per_render",...}
 *   {"peer":"dynamo","bench":"template_fruits","items":1000,"metric":"bytes_per_render",...}
 *
 *   usage: template_bench [ITEMS [SECONDS]]   (defaults 1000 and 3)
 *
 * scripts/bench-templates.sh runs it beside Elixir's EEx rendering the same template
 * (tests/bench/peers/eex/fruits.exs) and prints the ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynamo/template.h"

DYN_TEMPLATES_DECLARE(fruits);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The README's fruits, repeated: {id, name} tuples, names that need escaping now and then. */
static dyn_map_t *assigns_for(dyn_arena_t *a, long items)
{
    static const char *const names[] = {"Apple", "Orange", "Banana", "Kiwi & Lime", "<Pear>"};
    dyn_list_t *list = dyn_list_new(a, (size_t)items);
    for (long i = 0; i < items; i++) {
        dyn_list_t *t = dyn_list_new(a, 2);
        dyn_list_push(t, dyn_vint(i));
        dyn_list_push(t, dyn_vstr(names[i % 5]));
        dyn_list_push(list, dyn_vlist(t));
    }
    dyn_map_t *m = dyn_map_new(a);
    dyn_map_put(m, "fruits", dyn_vlist(list));
    return m;
}

static size_t render_once(const dyn_map_t *assigns)
{
    dyn_arena_t *a = dyn_arena_new();
    dyn_buf_t out;
    dyn_buf_init(&out, a, 8192);
    if (dyn_template_render(&dyn_templates_fruits, "fruits.html", assigns, NULL, &out) != 0 ||
        out.failed) {
        fprintf(stderr, "template_bench: render failed\n");
        exit(1);
    }
    size_t n = out.len;
    dyn_arena_free(a);
    return n;
}

int main(int argc, char **argv)
{
    long items = argc > 1 ? atol(argv[1]) : 1000;
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    if (items < 0 || seconds <= 0) {
        fprintf(stderr, "usage: template_bench [ITEMS [SECONDS]]\n");
        return 2;
    }
    dyn_arena_t *data = dyn_arena_new();
    const dyn_map_t *assigns = assigns_for(data, items);
    size_t bytes = 0;
    for (int i = 0; i < 200; i++) /* warm up: caches, allocator */
        bytes = render_once(assigns);
    long n = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 100; i++)
            render_once(assigns);
        n += 100;
        t = now_s();
    } while (t - t0 < seconds);
    double per = (t - t0) / (double)n;
#define LINE(metric, value, unit)                                                                  \
    printf("{\"peer\":\"dynamo\",\"bench\":\"template_fruits\",\"items\":%ld,\"metric\":\"" metric \
           "\",\"value\":%.0f,\"unit\":\"" unit "\",\"schedulers\":1}\n",                          \
           items, (double)(value))
    LINE("renders_per_s", 1.0 / per, "renders/s");
    LINE("ns_per_render", per * 1e9, "ns");
    LINE("bytes_per_render", bytes, "bytes");
    dyn_arena_free(data);
    return 0;
}
