/* Crypto internals for tests (crypto.c). */
#ifndef DYN_CRYPTO_INT_H
#define DYN_CRYPTO_INT_H

#include <time.h>

/* Replaces the clock expiries are checked and made with (NULL: time(NULL)). Tests only. */
void dyn__crypto_set_clock(time_t (*now)(void));

/* How an encrypted message's IV is set (crypto.c, set_iv): 1 by parameter, -1 by init, 0 as
 * the probe finds at the next message. Returns the probe's answer (1 or -1) for 0. Tests only. */
int dyn__crypto_set_iv_path(int path);

#endif
