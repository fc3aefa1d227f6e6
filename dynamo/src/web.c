/*
 * The web code of a request: which template set renders for it.
 */
#include "template_int.h"

const dyn_templates_t *dyn__web_templates(dyn_conn_t *conn)
{
    (void)conn;
    return NULL;
}
