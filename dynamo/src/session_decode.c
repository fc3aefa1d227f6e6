/*
 * The decode paths of the session stores (session_int.h): a cookie's text to a session or to
 * a session id, with nothing of a conn, so the fuzzer runs exactly what a request runs.
 */
#include <errno.h>
#include <string.h>

#include "session_int.h"

int dyn__cookie_session_decode(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                               bool signed_only, uint32_t max_items, const char *cookie, size_t len,
                               dyn_map_t **out, bool *ok)
{
    const void *data;
    size_t n;
    int rc = signed_only ? dyn_verify(a, kr, purpose, cookie, len, &data, &n)
                         : dyn_decrypt(a, kr, purpose, cookie, len, &data, &n);
    dyn__term_limits_t lim = {.max_items = max_items};
    *ok = rc == 0 && dyn__term_decode(a, data, n, &lim, out) == 0;
    if (!*ok && !(*out = dyn_map_new(a)))
        return ACT_ENOMEM;
    return 0;
}

bool dyn__server_session_id(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                            const char *cookie, size_t len, uint8_t sid[DYN__SID_LEN])
{
    const void *data;
    size_t n;
    if (dyn_verify(a, kr, purpose, cookie, len, &data, &n) != 0 || n != DYN__SID_LEN)
        return false;
    memcpy(sid, data, DYN__SID_LEN);
    return true;
}
