/* Template lookup shared by rendering (render.c), partials (template.c) and the web module
 * (web.c). */
#ifndef DYN_TEMPLATE_INT_H
#define DYN_TEMPLATE_INT_H

#include "dynamo/template.h"

/* The set of the request's web code: its loaded web module's (a reloadable Dynamo: the
 * version the request runs on), else its Dynamo's linked web's; NULL if none (no conn, no
 * web). web.c. */
const dyn_templates_t *dyn__web_templates(dyn_conn_t *conn);

/* Finds template `name`: in `first` (a template's own set; may be NULL), then in the request's
 * web set, then in the sets linked into the program. *set gets the set it came from. */
const dyn_template_t *dyn__tpl_lookup(dyn_conn_t *conn, const dyn_templates_t *first,
                                      const char *name, const dyn_templates_t **set);

/* Fails the request (DYN_ENOTEMPLATE) for a missing template: "what" ("template", "layout",
 * "partial") `name` not found, the templates there are listed. `from` names the template
 * asking (a partial) with its line, or is NULL. */
__attribute__((noreturn)) void dyn__tpl_not_found(dyn_conn_t *conn, const dyn_templates_t *first,
                                                  const char *what, const char *name,
                                                  const char *from, int line);

/* Room for a render of template t: what its last render took (plus a margin), so the buffer
 * does not grow (and copy itself) while the template writes. at_least is the floor. */
size_t dyn__tpl_size_hint(const dyn_template_t *t, size_t at_least);
/* Records the size a render of t took. */
void dyn__tpl_size_seen(const dyn_template_t *t, size_t len);

#endif
