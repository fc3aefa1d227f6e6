/*
 * libFuzzer target: the decode paths of both session stores with a fixed key, as a request
 * runs them (dyn__cookie_session_decode, dyn__server_session_id), and the value decoder behind
 * them.
 *
 * The first byte picks the path:
 *   0  the input is a cookie's text for the encrypted cookie store
 *   1  ... for the signed-only cookie store
 *   2  ... for the server store (a signed id)
 *   3  the input is an encoding: decoded directly
 *   4  the input is an encoding, sealed with the store's key first: random text never passes
 *      AES-GCM's tag, so this is how the fuzzer reaches the decoder through the whole path
 *   5  the same, signed (and the signed text then cut or extended by the fuzzer's next byte)
 * Whatever the input, decoding must end in "an empty session" or a map, and a map must survive
 * encode -> decode -> encode unchanged (the second encoding equals the first).
 *
 *   build/fuzz/tests/fuzz/session_cookie_fuzz tests/fuzz/corpus/session_cookie -max_total_time=60
 */
#include "fuzz_check.h"
#include <stdint.h>
#include <string.h>

#include "session_int.h"

#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret-fuzz-secret-fuzz!"

static dyn_keyring_t kr;
static int ready;

static void check_round_trip(dyn_arena_t *a, const dyn_map_t *m)
{
    dyn_buf_t b1, b2;
    dyn_buf_init(&b1, a, 64);
    dyn_buf_init(&b2, a, 64);
    if (dyn__term_encode(&b1, m, NULL) != 0)
        return; /* too deep to encode: fine, the decoder's limits are lower */
    dyn_map_t *again;
    dyn__term_limits_t lim = {.max_depth = 64, .max_items = 1u << 20};
    int rc = dyn__term_decode(a, b1.data, b1.len, &lim, &again);
    CHECK(rc == 0);
    CHECK(dyn__term_encode(&b2, again, NULL) == 0);
    CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        ready = dyn_keyring_derive(&kr, SECRET, NULL, "dynamo session cookie") == 0;
        CHECK(ready);
    }
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 6;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;
    dyn_arena_t *a = dyn_arena_new();
    dyn_map_t *m = NULL;
    bool ok = false;
    switch (mode) {
    case 0:
    case 1:
        CHECK(dyn__cookie_session_decode(a, &kr, "_app_session", mode == 1, 0, in, len, &m, &ok) ==
              0);
        CHECK(m);
        CHECK(ok || dyn_map_len(m) == 0);
        break;
    case 2: {
        uint8_t sid[DYN__SID_LEN];
        (void)dyn__server_session_id(a, &kr, "_app_session", in, len, sid);
        break;
    }
    case 3:
        ok = dyn__term_decode(a, in, len, NULL, &m) == 0;
        break;
    case 4: {
        char *sealed = dyn_encrypt(a, &kr, "_app_session", in, len, 0);
        CHECK(sealed);
        CHECK(dyn__cookie_session_decode(a, &kr, "_app_session", false, 0, sealed, strlen(sealed),
                                         &m, &ok) == 0);
        break;
    }
    case 5: {
        if (len < 1)
            break;
        char *sealed = dyn_sign(a, &kr, "_app_session", in + 1, len - 1, 0);
        CHECK(sealed);
        size_t sl = strlen(sealed);
        /* the next byte cuts the text short, or leaves it whole */
        size_t cut = (uint8_t)in[0] < 128 ? sl : (size_t)(uint8_t)in[0] % (sl + 1);
        CHECK(dyn__cookie_session_decode(a, &kr, "_app_session", true, 0, sealed, cut, &m, &ok) ==
              0);
        CHECK(cut == sl || !ok);
        break;
    }
    }
    if (ok && m)
        check_round_trip(a, m);
    dyn_arena_free(a);
    return 0;
}
