/* Map operations the framework needs and users do not. */
#ifndef DYN_VALUE_INT_H
#define DYN_VALUE_INT_H

#include "dynamo/value.h"

/* Truncates a map back to its first n entries (undoing a guard's tentative bindings). */
void dyn__map_truncate(dyn_map_t *m, size_t n);

#endif
