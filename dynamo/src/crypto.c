/*
 * Keys, signed and encrypted messages, base64url (crypto.h), on OpenSSL 3's libcrypto, and
 * libsodium's AES-256-GCM where the CPU has AES-NI (see gcm_run).
 *
 * The algorithms are fetched once per process (HMAC, SHA-256, AES-256-GCM, HKDF: OpenSSL 3
 * looks a name up in its provider tables on every implicit fetch, which would cost more than
 * the work on a short cookie), and each thread keeps keyed contexts and a buffer of random IVs
 * (see "per-thread contexts" below): a whole session fetch and update (tests/bench/
 * session_bench) cost ~20 k instructions with them, 34 k without; 12.2 k today with
 * libsodium's AES-GCM, 13.7 k with OpenSSL's.
 *
 * Message layouts (all integers big-endian), before base64url:
 *   signed:    [1][expiry:8][data...]  "."  HMAC-SHA256(key, purpose || 0 || first part's text)
 *   encrypted: [2][iv:12][AES-256-GCM(key, iv, aad = 2 || purpose)([expiry:8][data...])][tag:16]
 * The expiry is absolute Unix seconds, 0 for none, and is only read after authentication.
 *
 * The keyring cache (dyn_conn_keyring) is a fixed table filled once per (secrets, salt): its
 * entries are published with a release store of the count and never change afterwards, so
 * readers scan it without a lock. It lives in static memory (no allocation to account for).
 * Past its size, keyrings are derived per call into the request's arena: correct, only slower.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "conn_int.h"
#include "crypto_int.h"
#include "dynamo/crypto.h"

#define V_SIGNED 1
#define V_ENCRYPTED 2
#define HDR 9 /* version + expiry */
#define IV_LEN 12
#define TAG_LEN 16
#define MAC_LEN 32

/* ---- algorithms --------------------------------------------------------------------------- */

static pthread_once_t fetched = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac;
static EVP_MD *sha256;
static EVP_CIPHER *gcm;
static EVP_KDF *hkdf;

static pthread_key_t tls_key; /* per-thread contexts: see below */
static void aead_choose(void);
static void tls_free(void *arg);
static void after_fork_child(void);

static void fetch_all(void)
{
    if (pthread_key_create(&tls_key, tls_free) != 0 ||
        pthread_atfork(NULL, NULL, after_fork_child) != 0)
        act_fatal("dynamo: cannot set up the crypto's thread state");
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (!hmac || !sha256 || !gcm || !hkdf)
        act_fatal("dynamo: OpenSSL lacks HMAC, SHA-256, AES-256-GCM or HKDF");
    aead_choose();
}

static void algorithms(void)
{
    pthread_once(&fetched, fetch_all);
}

/* The clock the expiries are read with (tests move it). */
static time_t (*_Atomic clock_fn)(void);

void dyn__crypto_set_clock(time_t (*now)(void))
{
    atomic_store_explicit(&clock_fn, now, memory_order_relaxed);
}

static int64_t now_s(void)
{
    time_t (*f)(void) = atomic_load_explicit(&clock_fn, memory_order_relaxed);
    return f ? (int64_t)f() : (int64_t)time(NULL);
}

/* ---- small pieces ------------------------------------------------------------------------- */

int dyn_random_bytes(void *buf, size_t n)
{
    return n == 0 || RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

bool dyn_secure_compare(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Tables built once (b64_init, below): two characters per 12 bits when encoding, and for
 * decoding each character's sextet already shifted to its place in the 24-bit group, with
 * BAD_SEXTET for anything that is not base64url. Half the work of one lookup per sextet, on
 * every session cookie read and written. */
#define BAD_SEXTET 0x80000000u
static char enc_pairs[4096][2];
static uint32_t dec_at[4][256];
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;
static void b64_init(void);

size_t dyn_base64url_encode(char *dst, const void *src, size_t n)
{
    pthread_once(&b64_once, b64_init);
    const uint8_t *s = src;
    char *d = dst;
    size_t i = 0;
    /* Six bytes a step, read as one big-endian word (eight readable bytes: the last two unused),
     * then three at a time. */
    for (; i + 8 <= n; i += 6, d += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        w = __builtin_bswap64(w);
        memcpy(d, enc_pairs[w >> 52], 2);
        memcpy(d + 2, enc_pairs[w >> 40 & 4095], 2);
        memcpy(d + 4, enc_pairs[w >> 28 & 4095], 2);
        memcpy(d + 6, enc_pairs[w >> 16 & 4095], 2);
    }
    for (; i + 3 <= n; i += 3, d += 4) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        memcpy(d, enc_pairs[v >> 12], 2);
        memcpy(d + 2, enc_pairs[v & 4095], 2);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *d++ = b64[v >> 18];
        *d++ = b64[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *d++ = b64[v >> 18];
        *d++ = b64[v >> 12 & 63];
        *d++ = b64[v >> 6 & 63];
    }
    *d = '\0';
    return (size_t)(d - dst);
}

/* 0..63, or 64 for anything else. */
/* clang-format off */
static const uint8_t unb64[256] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
    64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};
/* clang-format on */

ssize_t dyn_base64url_decode(void *dst, const char *src, size_t len)
{
    if (len % 4 == 1)
        return -EBADMSG;
    pthread_once(&b64_once, b64_init);
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = dst;
    size_t i = 0;
    /* Eight characters a step into one big-endian word, written whole: its last two bytes are
     * overwritten by the next step, so only while at least a group follows (dst has room for
     * the three bytes that group makes). Then a group at a time. */
    for (; i + 12 <= len; i += 8, d += 6) {
        uint32_t a =
            dec_at[0][s[i]] | dec_at[1][s[i + 1]] | dec_at[2][s[i + 2]] | dec_at[3][s[i + 3]];
        uint32_t b =
            dec_at[0][s[i + 4]] | dec_at[1][s[i + 5]] | dec_at[2][s[i + 6]] | dec_at[3][s[i + 7]];
        if ((a | b) & BAD_SEXTET)
            return -EBADMSG;
        uint64_t w = __builtin_bswap64((uint64_t)a << 40 | (uint64_t)b << 16);
        memcpy(d, &w, 8);
    }
    for (; i + 4 <= len; i += 4, d += 3) {
        uint32_t v =
            dec_at[0][s[i]] | dec_at[1][s[i + 1]] | dec_at[2][s[i + 2]] | dec_at[3][s[i + 3]];
        if (v & BAD_SEXTET)
            return -EBADMSG;
        d[0] = (uint8_t)(v >> 16);
        d[1] = (uint8_t)(v >> 8);
        d[2] = (uint8_t)v;
    }
    size_t rest = len - i;
    if (rest >= 2) {
        uint8_t a = unb64[s[i]], b = unb64[s[i + 1]], c = rest == 3 ? unb64[s[i + 2]] : 0;
        if ((a | b | c) & 64)
            return -EBADMSG;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
        /* The bits past the last byte must be zero: one text per byte string. */
        if ((rest == 2 && (v & 0xffff)) || (rest == 3 && (v & 0xff)))
            return -EBADMSG;
        *d++ = (uint8_t)(v >> 16);
        if (rest == 3)
            *d++ = (uint8_t)(v >> 8);
    }
    return (ssize_t)(d - (uint8_t *)dst);
}

static void b64_init(void)
{
    for (unsigned v = 0; v < 4096; v++) {
        enc_pairs[v][0] = b64[v >> 6];
        enc_pairs[v][1] = b64[v & 63];
    }
    for (unsigned k = 0; k < 4; k++)
        for (unsigned c = 0; c < 256; c++)
            dec_at[k][c] = unb64[c] == 64 ? BAD_SEXTET : (uint32_t)unb64[c] << (18 - 6 * k);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t expiry(int64_t max_age)
{
    return max_age > 0 ? (uint64_t)(now_s() + max_age) : 0;
}

static bool expired(const uint8_t *p)
{
    uint64_t e = get_be64(p);
    return e != 0 && (uint64_t)now_s() >= e;
}

/* ---- keys --------------------------------------------------------------------------------- */

static int hkdf_sha256(const char *secret, const char *salt, uint8_t out[DYN_KEY_LEN])
{
    static const char info[] = "dynamo key v1";
    EVP_KDF_CTX *k = EVP_KDF_CTX_new(hkdf);
    if (!k)
        return ACT_ENOMEM;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, strlen(secret)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, strlen(salt)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof info - 1),
        OSSL_PARAM_construct_end(),
    };
    int ok = EVP_KDF_derive(k, out, DYN_KEY_LEN, p);
    EVP_KDF_CTX_free(k);
    return ok == 1 ? 0 : ACT_ENOMEM;
}

int dyn_keyring_derive(dyn_keyring_t *kr, const char *secret, const char *const *previous,
                       const char *salt)
{
    memset(kr, 0, sizeof *kr);
    if (!secret || strlen(secret) < DYN_SECRET_MIN || !salt)
        return ACT_EBADARG;
    algorithms();
    int rc = hkdf_sha256(secret, salt, kr->key[0]);
    kr->n = 1;
    for (size_t i = 0; rc == 0 && previous && previous[i] && kr->n < DYN_KEYRING_MAX; i++) {
        if (strlen(previous[i]) < DYN_SECRET_MIN)
            rc = ACT_EBADARG;
        else
            rc = hkdf_sha256(previous[i], salt, kr->key[kr->n++]);
    }
    if (rc)
        dyn_keyring_wipe(kr);
    return rc;
}

int dyn_keyring_derive_dynamo(dyn_keyring_t *kr, const dyn_dynamo_t *d, const char *salt)
{
    return dyn_keyring_derive(kr, d ? d->secret : NULL, d ? d->previous_secrets : NULL, salt);
}

void dyn_keyring_wipe(dyn_keyring_t *kr)
{
    OPENSSL_cleanse(kr, sizeof *kr);
}

/* The cache of dyn_conn_keyring. */
#define CACHE_SIZE 64
typedef struct cached {
    uint8_t fp[32]; /* SHA-256 of the salt and the secrets */
    dyn_keyring_t kr;
} cached_t;
static cached_t cache[CACHE_SIZE];
static _Atomic unsigned ncached;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void fingerprint(const dyn_dynamo_t *d, const char *salt, uint8_t fp[32])
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (!m || !EVP_DigestInit_ex2(m, sha256, NULL))
        act_fatal("dynamo: no memory for a digest");
    EVP_DigestUpdate(m, salt, strlen(salt) + 1);
    EVP_DigestUpdate(m, d->secret, strlen(d->secret) + 1);
    for (size_t i = 0; d->previous_secrets && d->previous_secrets[i]; i++)
        EVP_DigestUpdate(m, d->previous_secrets[i], strlen(d->previous_secrets[i]) + 1);
    EVP_DigestFinal_ex(m, fp, NULL);
    EVP_MD_CTX_free(m);
}

static const dyn_keyring_t *find(const uint8_t fp[32], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (memcmp(cache[i].fp, fp, 32) == 0)
            return &cache[i].kr;
    return NULL;
}

const dyn_keyring_t *dyn_conn_keyring(dyn_conn_t *c, const char *salt)
{
    const dyn_dynamo_t *d = dyn_conn_dynamo(c);
    if (!d || !d->secret || strlen(d->secret) < DYN_SECRET_MIN)
        dyn__conn_fail(c, ACT_EBADARG,
                       "signing or encrypting needs the Dynamo's secret (%d bytes or more)",
                       DYN_SECRET_MIN);
    algorithms();
    uint8_t fp[32];
    fingerprint(d, salt, fp);
    /* acquire: pairs with the release below, so the entries counted are complete */
    const dyn_keyring_t *kr = find(fp, atomic_load_explicit(&ncached, memory_order_acquire));
    if (kr)
        return kr;
    pthread_mutex_lock(&cache_lock);
    unsigned n = atomic_load_explicit(&ncached, memory_order_relaxed);
    if (!(kr = find(fp, n)) && n < CACHE_SIZE) {
        if (dyn_keyring_derive_dynamo(&cache[n].kr, d, salt) == 0) {
            memcpy(cache[n].fp, fp, 32);
            kr = &cache[n].kr;
            atomic_store_explicit(&ncached, n + 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (kr)
        return kr;
    dyn_keyring_t *own = dyn_alloc(c, sizeof *own);
    int rc = dyn_keyring_derive_dynamo(own, d, salt);
    if (rc)
        dyn__conn_fail(c, rc, "cannot derive the keys for \"%s\": %s", salt, dyn_strerror(rc));
    return own;
}

/* ---- per-thread contexts ------------------------------------------------------------------
 *
 * Setting a key up (the AES key schedule, HMAC's padded key) and making OpenSSL 3 contexts
 * cost far more than sealing a short cookie, so each thread keeps keyed contexts for the few
 * keys it uses (a Dynamo has a handful), found by comparing the key bytes (a key freed and
 * another derived at the same address can never be confused). Per message only the IV is set.
 * A thread's contexts are freed when it exits (the pthread key's destructor). Request fibers
 * never change threads and nothing here yields, so a context is never shared.
 */

#define CTX_SLOTS 8

typedef struct keyed {
    uint8_t key[DYN_KEY_LEN];
    bool used;
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    EVP_MAC_CTX *mac;
    crypto_aead_aes256gcm_state *aes; /* libsodium's expanded key, both ways (see gcm_run) */
} keyed_t;

typedef struct tls_state {
    keyed_t slot[CTX_SLOTS];
    unsigned next; /* round-robin replacement */
    /* IVs: random bytes fetched 4 KiB at a time (RAND_bytes costs thousands of instructions a
     * call, whatever its length). Only IVs come from here: they are public; secrets (ids,
     * tokens) take dyn_random_bytes, unbuffered. */
    uint8_t ivs[4096];
    size_t iv_used;
    unsigned iv_fork_gen;
} tls_state_t;

static __thread tls_state_t *tls;
/* Bumped in a forked child: buffered IVs the parent also holds must not be used twice. */
static _Atomic unsigned fork_gen;

static void drop_slot(keyed_t *k)
{
    EVP_CIPHER_CTX_free(k->enc);
    EVP_CIPHER_CTX_free(k->dec);
    EVP_MAC_CTX_free(k->mac);
    if (k->aes) {
        OPENSSL_cleanse(k->aes, sizeof *k->aes);
        free(k->aes);
    }
    OPENSSL_cleanse(k, sizeof *k);
}

static void tls_free(void *arg)
{
    tls_state_t *t = arg;
    for (unsigned i = 0; i < CTX_SLOTS; i++)
        drop_slot(&t->slot[i]);
    OPENSSL_cleanse(t, sizeof *t);
    free(t);
}

static void after_fork_child(void)
{
    atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
}

static tls_state_t *state(void)
{
    if (ACT_LIKELY(tls))
        return tls;
    /* libc's allocator, not act_malloc: it belongs to the thread, not to a request, and is
     * freed by the thread's exit however the runtime stops. */
    tls = calloc(1, sizeof *tls);
    if (!tls)
        act_fatal("dynamo: no memory for the crypto contexts");
    tls->iv_used = sizeof tls->ivs;
    pthread_setspecific(tls_key, tls);
    return tls;
}

static keyed_t *keyed(const uint8_t key[DYN_KEY_LEN])
{
    tls_state_t *t = state();
    for (unsigned i = 0; i < CTX_SLOTS; i++)
        if (t->slot[i].used && memcmp(t->slot[i].key, key, DYN_KEY_LEN) == 0)
            return &t->slot[i];
    keyed_t *k = &t->slot[t->next++ % CTX_SLOTS];
    drop_slot(k);
    memcpy(k->key, key, DYN_KEY_LEN);
    k->used = true;
    return k;
}

static EVP_CIPHER_CTX *cipher_ctx(const uint8_t key[DYN_KEY_LEN], bool enc)
{
    keyed_t *k = keyed(key);
    EVP_CIPHER_CTX **x = enc ? &k->enc : &k->dec;
    if (!*x) {
        if (!(*x = EVP_CIPHER_CTX_new()))
            return NULL;
        if (!EVP_CipherInit_ex2(*x, gcm, key, NULL, enc, NULL)) {
            EVP_CIPHER_CTX_free(*x);
            *x = NULL;
        }
    }
    return *x;
}

static EVP_MAC_CTX *mac_ctx(const uint8_t key[DYN_KEY_LEN])
{
    keyed_t *k = keyed(key);
    if (!k->mac) {
        OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                          OSSL_PARAM_construct_end()};
        if (!(k->mac = EVP_MAC_CTX_new(hmac)))
            return NULL;
        if (!EVP_MAC_init(k->mac, key, DYN_KEY_LEN, p)) {
            EVP_MAC_CTX_free(k->mac);
            k->mac = NULL;
        }
        return k->mac;
    }
    /* The same key again: HMAC restarts from its kept key without the padding work. */
    return EVP_MAC_init(k->mac, NULL, 0, NULL) ? k->mac : NULL;
}

static bool fresh_iv(uint8_t iv[IV_LEN])
{
    tls_state_t *t = state();
    unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
    if (t->iv_used + IV_LEN > sizeof t->ivs || t->iv_fork_gen != gen) {
        if (RAND_bytes(t->ivs, sizeof t->ivs) != 1)
            return false;
        t->iv_used = 0;
        t->iv_fork_gen = gen;
    }
    memcpy(iv, t->ivs + t->iv_used, IV_LEN);
    t->iv_used += IV_LEN;
    return true;
}

/* ---- signed messages ---------------------------------------------------------------------- */

static bool mac(const uint8_t key[DYN_KEY_LEN], const char *purpose, const char *text, size_t len,
                uint8_t out[MAC_LEN])
{
    EVP_MAC_CTX *m = mac_ctx(key);
    size_t outl = 0;
    return m && EVP_MAC_update(m, (const uint8_t *)purpose, strlen(purpose) + 1) &&
           EVP_MAC_update(m, (const uint8_t *)text, len) && EVP_MAC_final(m, out, &outl, MAC_LEN) &&
           outl == MAC_LEN;
}

char *dyn_sign(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose, const void *data,
               size_t len, int64_t max_age)
{
    algorithms();
    uint8_t *raw = dyn_arena_alloc(a, HDR + len);
    size_t tlen = DYN_BASE64URL_LEN(HDR + len);
    char *out = dyn_arena_alloc(a, tlen + 1 + DYN_BASE64URL_LEN(MAC_LEN) + 1);
    if (!raw || !out)
        return NULL;
    raw[0] = V_SIGNED;
    put_be64(raw + 1, expiry(max_age));
    if (len)
        memcpy(raw + HDR, data, len);
    dyn_base64url_encode(out, raw, HDR + len);
    uint8_t tag[MAC_LEN];
    if (!mac(kr->key[0], purpose, out, tlen, tag))
        return NULL;
    out[tlen] = '.';
    dyn_base64url_encode(out + tlen + 1, tag, MAC_LEN);
    return out;
}

int dyn_verify(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose, const char *msg,
               size_t mlen, const void **data, size_t *len)
{
    algorithms();
    const size_t tag_text = DYN_BASE64URL_LEN(MAC_LEN);
    if (mlen < DYN_BASE64URL_LEN(HDR) + 1 + tag_text || msg[mlen - tag_text - 1] != '.')
        return -EBADMSG;
    size_t tlen = mlen - tag_text - 1;
    uint8_t tag[MAC_LEN + 3], want[MAC_LEN];
    if (dyn_base64url_decode(tag, msg + tlen + 1, tag_text) != MAC_LEN)
        return -EBADMSG;
    bool ok = false;
    for (unsigned k = 0; k < kr->n && !ok; k++)
        ok = mac(kr->key[k], purpose, msg, tlen, want) && CRYPTO_memcmp(tag, want, MAC_LEN) == 0;
    if (!ok)
        return -EBADMSG;
    uint8_t *raw = dyn_arena_alloc(a, tlen / 4 * 3 + 3);
    if (!raw)
        return ACT_ENOMEM;
    ssize_t n = dyn_base64url_decode(raw, msg, tlen);
    if (n < HDR || raw[0] != V_SIGNED)
        return -EBADMSG;
    if (expired(raw + 1))
        return -EKEYEXPIRED;
    raw[n] = 0; /* room: tlen / 4 * 3 + 3 > n */
    *data = raw + HDR;
    *len = (size_t)n - HDR;
    return 0;
}

/* ---- encrypted messages ------------------------------------------------------------------- */

/* Setting a message's IV on a keyed context. EVP_CipherInit_ex2 asks the provider for the IV
 * length on every call (a parameter lookup of ~600 instructions: a fifth of sealing a cookie).
 * OpenSSL's GCM also takes a whole IV by its TLS "fixed IV" parameter with length -1 (how
 * EVP_CTRL_GCM_SET_IV_FIXED restores one), buffered exactly as an init's IV is, and a decrypt's
 * tag rides in the same call. That path is only taken once gcm_probe has shown, on the
 * libcrypto this process runs, that it seals and opens exactly as the init does; otherwise the
 * init it is. The IV is fresh and random either way. */
static _Atomic int iv_by_param; /* 0 unknown, 1 yes, -1 no; relaxed: nothing else rides on it */

static bool set_iv(EVP_CIPHER_CTX *x, bool enc, const uint8_t iv[IV_LEN], uint8_t tag[TAG_LEN],
                   bool by_param)
{
    if (!by_param) {
        OSSL_PARAM tp[] = {
            OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TAG_LEN),
            OSSL_PARAM_construct_end()};
        return EVP_CipherInit_ex2(x, NULL, NULL, iv, enc, NULL) &&
               (enc || EVP_CIPHER_CTX_set_params(x, tp));
    }
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, (void *)iv,
                                          (size_t)-1),
        enc ? OSSL_PARAM_construct_end()
            : OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TAG_LEN),
        OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_set_params(x, p);
}

/* One message through x, whose key is set: the IV, the additional data (version then purpose,
 * in one update when it fits: each update is a trip through OpenSSL's dispatch), the data, and
 * the tag (out when sealing, in when opening). */
static bool gcm_with(EVP_CIPHER_CTX *x, bool enc, bool by_param, const uint8_t iv[IV_LEN],
                     const char *purpose, const uint8_t *in, size_t len, uint8_t *out,
                     uint8_t tag[TAG_LEN])
{
    uint8_t aad[128];
    size_t plen = strlen(purpose);
    bool one = plen < sizeof aad;
    aad[0] = V_ENCRYPTED;
    if (one)
        memcpy(aad + 1, purpose, plen);
    /* The tag by parameter, not EVP_CIPHER_CTX_ctrl (which builds the same array each time). */
    OSSL_PARAM tp[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, TAG_LEN),
                       OSSL_PARAM_construct_end()};
    int n = 0;
    return x && set_iv(x, enc, iv, tag, by_param) &&
           EVP_CipherUpdate(x, NULL, &n, aad, one ? (int)plen + 1 : 1) &&
           (one || EVP_CipherUpdate(x, NULL, &n, (const uint8_t *)purpose, (int)plen)) &&
           EVP_CipherUpdate(x, out, &n, in, (int)len) && (size_t)n == len &&
           EVP_CipherFinal_ex(x, out + n, &n) && n == 0 &&
           (!enc || EVP_CIPHER_CTX_get_params(x, tp));
}

/* Whether the IV parameter works as the init here: a context that sealed one message seals
 * and opens a second, under another IV, byte for byte as fresh contexts do. */
static bool gcm_probe(void)
{
    static const uint8_t key[DYN_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint8_t iv1[IV_LEN] = {0xca, 0xfe}, iv2[IV_LEN] = {0xfa, 0xce, 0xdb};
    static const uint8_t msg[40] = "the same words under another IV, twice.";
    uint8_t c1[sizeof msg], c2[sizeof msg], want[sizeof msg], back[sizeof msg];
    uint8_t t1[TAG_LEN], t2[TAG_LEN], twant[TAG_LEN];
    EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new(), *f = EVP_CIPHER_CTX_new(), *d = EVP_CIPHER_CTX_new();
    bool ok = e && f && d && EVP_CipherInit_ex2(e, gcm, key, NULL, 1, NULL) &&
              EVP_CipherInit_ex2(f, gcm, key, NULL, 1, NULL) &&
              EVP_CipherInit_ex2(d, gcm, key, NULL, 0, NULL) &&
              gcm_with(e, true, true, iv1, "probe", msg, sizeof msg, c1, t1) &&
              gcm_with(e, true, true, iv2, "probe", msg, sizeof msg, c2, t2) &&
              gcm_with(f, true, false, iv2, "probe", msg, sizeof msg, want, twant) &&
              memcmp(c2, want, sizeof want) == 0 && memcmp(t2, twant, TAG_LEN) == 0 &&
              memcmp(c1, c2, sizeof c1) != 0 &&
              gcm_with(d, false, true, iv1, "probe", c1, sizeof c1, back, t1) &&
              memcmp(back, msg, sizeof msg) == 0 &&
              gcm_with(d, false, true, iv2, "probe", c2, sizeof c2, back, t2) &&
              memcmp(back, msg, sizeof msg) == 0;
    /* And a wrong tag still fails on the reused context, which then opens the next one. */
    t2[0] ^= 1;
    ok = ok && !gcm_with(d, false, true, iv2, "probe", c2, sizeof c2, back, t2) &&
         gcm_with(d, false, true, iv1, "probe", c1, sizeof c1, back, t1) &&
         memcmp(back, msg, sizeof msg) == 0;
    EVP_CIPHER_CTX_free(e);
    EVP_CIPHER_CTX_free(f);
    EVP_CIPHER_CTX_free(d);
    ERR_clear_error();
    return ok;
}

int dyn__crypto_set_iv_path(int path)
{
    algorithms();
    if (path == 0)
        path = gcm_probe() ? 1 : -1;
    atomic_store_explicit(&iv_by_param, path, memory_order_relaxed);
    return path;
}

/* Which AES-256-GCM seals and opens: libsodium's, where the CPU has AES-NI and PCLMUL (its key
 * state is expanded once per key and thread, and a message is one call: no parameter lookups,
 * no provider dispatch), or OpenSSL's on any other CPU and for purposes too long for the AAD
 * buffer. Both are the same standard AES-256-GCM (96-bit IV, 128-bit tag, the same AAD), so a
 * cookie sealed by either opens with the other (crypto_test checks every pair): the choice is
 * a matter of speed only. A message of a session cookie: ~1.8 k instructions against ~2.7 k,
 * a whole fetch and update 12.2 k against 13.7 k (tests/bench/session_bench). 1 libsodium, -1
 * OpenSSL; chosen once at start (tests switch it). */
static _Atomic int aead_sodium;

static void aead_choose(void)
{
    int use = sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() ? 1 : -1;
    atomic_store_explicit(&aead_sodium, use, memory_order_relaxed);
}

int dyn__crypto_set_aead(int which)
{
    algorithms();
    if (which == 0)
        aead_choose();
    else if (which > 0 && !(sodium_init() >= 0 && crypto_aead_aes256gcm_is_available()))
        return -1; /* not on this CPU */
    else
        atomic_store_explicit(&aead_sodium, which, memory_order_relaxed);
    return atomic_load_explicit(&aead_sodium, memory_order_relaxed);
}

static const crypto_aead_aes256gcm_state *sodium_state(const uint8_t key[DYN_KEY_LEN])
{
    keyed_t *k = keyed(key);
    if (!k->aes) {
        /* aligned as libsodium declares the state (16); libc's, like the thread state */
        if (!(k->aes = aligned_alloc(16, sizeof *k->aes)))
            return NULL;
        crypto_aead_aes256gcm_beforenm(k->aes, key);
    }
    return k->aes;
}

static bool gcm_run(bool enc, const uint8_t key[DYN_KEY_LEN], const uint8_t iv[IV_LEN],
                    const char *purpose, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[TAG_LEN])
{
    size_t plen = strlen(purpose);
    if (atomic_load_explicit(&aead_sodium, memory_order_relaxed) > 0 && plen < 128) {
        uint8_t aad[128];
        aad[0] = V_ENCRYPTED;
        memcpy(aad + 1, purpose, plen);
        const crypto_aead_aes256gcm_state *st = sodium_state(key);
        return st && (enc ? crypto_aead_aes256gcm_encrypt_detached_afternm(
                                out, tag, NULL, in, len, aad, plen + 1, NULL, iv, st)
                          : crypto_aead_aes256gcm_decrypt_detached_afternm(
                                out, NULL, in, len, tag, aad, plen + 1, iv, st)) == 0;
    }
    int by = atomic_load_explicit(&iv_by_param, memory_order_relaxed);
    if (ACT_UNLIKELY(by == 0)) { /* a race only runs the probe twice, to the same answer */
        by = gcm_probe() ? 1 : -1;
        atomic_store_explicit(&iv_by_param, by, memory_order_relaxed);
    }
    return gcm_with(cipher_ctx(key, enc), enc, by > 0, iv, purpose, in, len, out, tag);
}

char *dyn_encrypt(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose, const void *data,
                  size_t len, int64_t max_age)
{
    algorithms();
    if (len > INT32_MAX - 64)
        return NULL;
    size_t plen = 8 + len, rlen = 1 + IV_LEN + plen + TAG_LEN;
    uint8_t *plain = dyn_arena_alloc(a, plen);
    uint8_t *raw = dyn_arena_alloc(a, rlen);
    char *out = dyn_arena_alloc(a, DYN_BASE64URL_LEN(rlen) + 1);
    if (!plain || !raw || !out)
        return NULL;
    put_be64(plain, expiry(max_age));
    if (len)
        memcpy(plain + 8, data, len);
    raw[0] = V_ENCRYPTED;
    if (!fresh_iv(raw + 1) || !gcm_run(true, kr->key[0], raw + 1, purpose, plain, plen,
                                       raw + 1 + IV_LEN, raw + 1 + IV_LEN + plen))
        return NULL;
    OPENSSL_cleanse(plain, plen);
    dyn_base64url_encode(out, raw, rlen);
    return out;
}

int dyn_decrypt(dyn_arena_t *a, const dyn_keyring_t *kr, const char *purpose, const char *msg,
                size_t mlen, const void **data, size_t *len)
{
    algorithms();
    if (mlen < DYN_BASE64URL_LEN(1 + IV_LEN + 8 + TAG_LEN) || mlen > INT32_MAX / 2)
        return -EBADMSG;
    uint8_t *raw = dyn_arena_alloc(a, mlen / 4 * 3 + 3);
    if (!raw)
        return ACT_ENOMEM;
    ssize_t n = dyn_base64url_decode(raw, msg, mlen);
    if (n < 1 + IV_LEN + 8 + TAG_LEN || raw[0] != V_ENCRYPTED)
        return -EBADMSG;
    size_t plen = (size_t)n - 1 - IV_LEN - TAG_LEN;
    uint8_t *plain = dyn_arena_alloc(a, plen + 1);
    if (!plain)
        return ACT_ENOMEM;
    bool ok = false;
    for (unsigned k = 0; k < kr->n && !ok; k++)
        ok = gcm_run(false, kr->key[k], raw + 1, purpose, raw + 1 + IV_LEN, plen, plain,
                     raw + 1 + IV_LEN + plen);
    if (!ok)
        return -EBADMSG;
    if (expired(plain))
        return -EKEYEXPIRED;
    plain[plen] = 0;
    *data = plain + 8;
    *len = plen - 8;
    return 0;
}
