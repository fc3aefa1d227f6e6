/* Crypto internals for tests (crypto.c). */
#ifndef DYN_CRYPTO_INT_H
#define DYN_CRYPTO_INT_H

#include <time.h>

/* Replaces the clock expiries are checked and made with (NULL: time(NULL)). Tests only. */
void dyn__crypto_set_clock(time_t (*now)(void));

#endif
