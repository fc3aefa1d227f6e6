/* Crypto internals for tests (crypto.c). */
#ifndef DYN_CRYPTO_INT_H
#define DYN_CRYPTO_INT_H

#include <time.h>

/* Replaces the clock expiries are checked and made with (NULL: time(NULL)). Tests only. */
void dyn__crypto_set_clock(time_t (*now)(void));

/* How an encrypted message's IV is set (crypto.c, set_iv): 1 by parameter, -1 by init, 0 as
 * the probe finds at the next message. Returns the probe's answer (1 or -1) for 0. Tests only. */
int dyn__crypto_set_iv_path(int path);

/* Which AES-256-GCM implementation seals and opens (crypto.c, gcm_run): 1 libsodium's, -1
 * OpenSSL's, 0 as the CPU allows. Returns the one in use, or -1 when 1 was asked and the CPU
 * lacks AES-NI (OpenSSL's stays). Tests only. */
int dyn__crypto_set_aead(int which);

#endif
