/* Map operations the framework needs and users do not. */
#ifndef DYN_VALUE_INT_H
#define DYN_VALUE_INT_H

#include "dynamo/value.h"

/* Truncates a map back to its first n entries (undoing a guard's tentative bindings). */
void dyn__map_truncate(dyn_map_t *m, size_t n);

/* dyn_map_putn without copying the key: key[0..key_len) (NUL-terminated) must outlive the map
 * (a compiled route's parameter names outlive every request). */
int dyn__map_put_borrowed(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v);

/* The same, but a key already there keeps its value (the first one wins): returns 1 then. */
int dyn__map_add_borrowed(dyn_map_t *m, const char *key, size_t key_len, dyn_value_t v);

#endif
