/*
 * Cryptography for cookies, sessions and tokens (Plug.Crypto's KeyGenerator, MessageVerifier
 * and MessageEncryptor), on OpenSSL's libcrypto.
 *
 * Keys. Nothing is signed or encrypted with the Dynamo's secret itself: each use derives its
 * own 256-bit key from it with HKDF-SHA256 (RFC 5869) and a salt naming the use ("session
 * cookie", "signed cookie"...), so a key leaked from one use says nothing of the others. HKDF
 * rather than PBKDF2 (Plug's choice): the secret is a random string of 64 bytes or more, not a
 * password, so stretching buys nothing. A keyring holds the key of the current secret first,
 * then those of the Dynamo's previous_secrets (key rotation): data is always made with the
 * first and accepted with any.
 *
 *     const dyn_keyring_t *kr = dyn_conn_keyring(conn, "password reset");
 *     char *token = dyn_sign(dyn_conn_arena(conn), kr, "reset", user_id, strlen(user_id), 3600);
 *     ...
 *     if (dyn_verify(dyn_conn_arena(conn), kr, "reset", token, strlen(token), &data, &len) == 0)
 *
 * Messages. Both forms are base64url text (RFC 4648 section 5, no padding) that fits in a
 * cookie or a URL, carry an expiry (0: none) checked on reading, and are bound to a purpose
 * (a cookie's name, "session"): a message made for one purpose fails for any other.
 * - signed (HMAC-SHA256): the data stays readable by the client, but cannot be changed;
 *   "<data>.<tag>", where data = version 1, expiry (8 bytes), the bytes;
 * - encrypted (AES-256-GCM): neither readable nor changeable; one part holding version 2,
 *   a random 96-bit IV (RAND_bytes: never reused in practice, 2^32 messages per key stay far
 *   below the collision bound), the ciphertext of expiry and bytes, and the 128-bit tag; the
 *   version and the purpose are the additional authenticated data.
 * Reading never trusts its input: lengths are checked before decoding, tags compared in
 * constant time, and any failure (tampered, truncated, foreign, made with another key, garbage)
 * is the same -EBADMSG with nothing decoded.
 *
 * Thread contract: every function here may run on any thread at once; a keyring is read-only
 * once derived.
 */
#ifndef DYN_CRYPTO_H
#define DYN_CRYPTO_H

#include "dynamo/arena.h"
#include "dynamo/conn.h"

#define DYN_KEY_LEN 32
/* The current secret and up to 3 previous ones. */
#define DYN_KEYRING_MAX 4
/* A secret shorter than this is refused (Plug's rule for secret_key_base). */
#define DYN_SECRET_MIN 64

typedef struct dyn_keyring {
    unsigned n; /* keys held: [0] from the current secret, then the previous ones */
    uint8_t key[DYN_KEYRING_MAX][DYN_KEY_LEN];
} dyn_keyring_t;

/* Derives a keyring for salt from secret and the NULL-terminated previous secrets (may be
 * NULL; past DYN_KEYRING_MAX - 1 of them the oldest are dropped). Returns 0, ACT_EBADARG (no
 * secret, one shorter than DYN_SECRET_MIN, or no salt) or ACT_ENOMEM. Any thread; costs a few
 * microseconds: do it once (a plug's init) and keep the keyring. */
DYN_API int dyn_keyring_derive(dyn_keyring_t *kr, const char *secret, const char *const *previous,
                               const char *salt);
/* The same from a Dynamo's secret and previous_secrets. */
DYN_API int dyn_keyring_derive_dynamo(dyn_keyring_t *kr, const dyn_dynamo_t *d, const char *salt);
/* Overwrites a keyring with zeros in a way the compiler keeps. */
DYN_API void dyn_keyring_wipe(dyn_keyring_t *kr);

/* The keyring for salt of the Dynamo serving conn, derived on first use and cached for the
 * process (keyed by the secrets and the salt, so it never outlives a secret change). Fails the
 * request (ACT_EBADARG) if the Dynamo has no usable secret. Request fiber. */
DYN_API const dyn_keyring_t *dyn_conn_keyring(dyn_conn_t *conn, const char *salt);

/* Signs len bytes of data for purpose (a NUL-terminated name, may be ""), valid for max_age
 * seconds (0: no expiry). Returns the message, NUL-terminated in arena a, or NULL if memory
 * runs out. */
DYN_API char *dyn_sign(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                       const void *data, size_t len, int64_t max_age);
/* Checks a signed message (mlen bytes) against every key of kr. Returns 0 with *data (in
 * arena a, NUL-terminated) and *len, -EBADMSG (not a message of ours for this purpose),
 * -EKEYEXPIRED (past its max_age) or ACT_ENOMEM. */
DYN_API int dyn_verify(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                       const char *msg, size_t mlen, const void **data, size_t *len);

/* Encrypts and authenticates len bytes of data for purpose; the rest as dyn_sign. */
DYN_API char *dyn_encrypt(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                          const void *data, size_t len, int64_t max_age);
/* Decrypts a message of dyn_encrypt; the results as dyn_verify. */
DYN_API int dyn_decrypt(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose,
                        const char *msg, size_t mlen, const void **data, size_t *len);

/* base64url without padding. The encoded length of n bytes; encode writes it and a NUL into
 * dst (DYN_BASE64URL_LEN(n) + 1 bytes). */
#define DYN_BASE64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
DYN_API size_t dyn_base64url_encode(char *dst, const void *src, size_t n);
/* Decodes len characters into dst (room for len * 3 / 4 bytes). Returns the byte count, or
 * -EBADMSG for a character outside the alphabet, padding, a length no encoding has, or
 * non-zero unused bits (one text per byte string). */
DYN_API ssize_t dyn_base64url_decode(void *dst, const char *src, size_t len);

/* Fills buf with n bytes from OpenSSL's CSPRNG. Returns 0 or -EIO. Any thread. */
DYN_API int dyn_random_bytes(void *buf, size_t n);
/* Compares n bytes in time that depends on n only. */
DYN_API bool dyn_secure_compare(const void *a, const void *b, size_t n);

#endif
