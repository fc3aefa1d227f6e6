/*
 * Crypto: base64url against RFC 4648's vectors and every malformed text, key derivation and
 * rotation, and signed and encrypted messages against tampering at every byte, truncation at
 * every length, a foreign key, another purpose, and expiry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto_int.h"
#include "dyn_util.h"
#include "dynamo/crypto.h"

static const char *secret_a =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *secret_b =
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
static const char *secret_c =
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

static dyn_arena_t *arena;

static void setup(void)
{
    arena = dyn_arena_new();
}

static void teardown(void)
{
    dyn_arena_free(arena);
    dyn__crypto_set_clock(NULL);
    dyn__crypto_set_iv_path(0);
    dyn__crypto_set_aead(0);
}

TestSuite(crypto, .init = setup, .fini = teardown, .timeout = TMO(60));

static const char *enc(const char *s, size_t n)
{
    static char out[256];
    dyn_base64url_encode(out, s, n);
    return out;
}

Test(crypto, base64url_rfc4648_vectors)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        cr_assert_str_eq(enc(in[i], strlen(in[i])), out[i]);
        cr_assert_eq(DYN_BASE64URL_LEN(strlen(in[i])), strlen(out[i]));
        char back[16];
        cr_assert_eq(dyn_base64url_decode(back, out[i], strlen(out[i])), (ssize_t)strlen(in[i]));
        cr_assert_eq(memcmp(back, in[i], strlen(in[i])), 0);
    }
    cr_assert_str_eq(enc("\xfb\xff\xbf", 3), "-_-_");
}

/* Against a one-sextet-at-a-time reference, every length to 300 (the word-at-a-time loops, the
 * group loops and the tails all run), and a bad character at every position refused. */
static size_t ref_encode(char *dst, const uint8_t *src, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t bit = 0; bit < n * 8; bit += 6) {
        unsigned v = 0;
        for (size_t k = 0; k < 6; k++) {
            size_t b = bit + k;
            v = v << 1 | (b < n * 8 ? (src[b / 8] >> (7 - b % 8)) & 1 : 0);
        }
        dst[o++] = a[v];
    }
    dst[o] = '\0';
    return o;
}

Test(crypto, base64url_round_trips_every_length)
{
    uint8_t in[300] = {0}, back[300 + 8];
    char text[402], want[402];
    for (size_t n = 0; n <= sizeof in; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(rand() & 0xff);
        size_t len = dyn_base64url_encode(text, in, n);
        cr_assert_eq(len, ref_encode(want, in, n));
        cr_assert_str_eq(text, want, "length %zu", n);
        cr_assert_eq(dyn_base64url_decode(back, text, len), (ssize_t)n, "length %zu", n);
        cr_assert_eq(memcmp(back, in, n), 0, "length %zu", n);
        for (size_t i = 0; i < len; i++) {
            char keep = text[i];
            text[i] = i % 2 ? '=' : '+';
            cr_assert_eq(dyn_base64url_decode(back, text, len), -EBADMSG, "%zu at %zu", n, i);
            text[i] = keep;
        }
    }
}

Test(crypto, base64url_refuses_what_is_not_one)
{
    char buf[64];
    const char *bad[] = {"Zg==", "Zm9v+",   "Zm/v",  "Z",      "Zm9vY",    "Zh",
                         "Zm9",  "Zm9vYmF", "Zm9 v", "Zm9v\n", "Z\xc3\xa9"};
    const char *bad_why[] = {"padding",  "'+'",         "'/'",         "length 1",
                             "length 5", "unused bits", "unused bits", "unused bits",
                             "space",    "newline",     "non-ASCII"};
    (void)bad_why;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(dyn_base64url_decode(buf, bad[i], strlen(bad[i])), -EBADMSG, "%s (%s)", bad[i],
                     bad_why[i]);
    cr_assert_eq(dyn_base64url_decode(buf, "Zm\0v", 4), -EBADMSG);
    /* every byte string round-trips, and its text is the only one decoding to it */
    for (int n = 0; n < 40; n++) {
        uint8_t raw[40], back[40];
        for (int i = 0; i < n; i++)
            raw[i] = (uint8_t)(rand() & 0xff);
        char text[64];
        size_t tl = dyn_base64url_encode(text, raw, (size_t)n);
        cr_assert_eq(dyn_base64url_decode(back, text, tl), n);
        cr_assert_eq(memcmp(raw, back, (size_t)n), 0);
    }
}

Test(crypto, keys_are_derived_per_salt_and_secret)
{
    dyn_keyring_t a1, a2, b1, a1again;
    cr_assert_eq(dyn_keyring_derive(&a1, secret_a, NULL, "one"), 0);
    cr_assert_eq(dyn_keyring_derive(&a2, secret_a, NULL, "two"), 0);
    cr_assert_eq(dyn_keyring_derive(&b1, secret_b, NULL, "one"), 0);
    cr_assert_eq(dyn_keyring_derive(&a1again, secret_a, NULL, "one"), 0);
    cr_assert_eq(a1.n, 1);
    cr_assert_eq(memcmp(a1.key[0], a1again.key[0], DYN_KEY_LEN), 0);
    cr_assert_neq(memcmp(a1.key[0], a2.key[0], DYN_KEY_LEN), 0);
    cr_assert_neq(memcmp(a1.key[0], b1.key[0], DYN_KEY_LEN), 0);
    dyn_keyring_t r;
    cr_assert_eq(dyn_keyring_derive(&r, secret_a, (const char *const[]){secret_b, NULL}, "one"), 0);
    cr_assert_eq(r.n, 2);
    cr_assert_eq(memcmp(r.key[1], b1.key[0], DYN_KEY_LEN), 0);
    cr_assert_eq(dyn_keyring_derive(
                     &r, secret_a,
                     (const char *const[]){secret_b, secret_c, secret_b, secret_c, NULL}, "one"),
                 0);
    cr_assert_eq(r.n, DYN_KEYRING_MAX);
    cr_assert_eq(dyn_keyring_derive(&r, "too short", NULL, "one"), ACT_EBADARG);
    cr_assert_eq(dyn_keyring_derive(&r, NULL, NULL, "one"), ACT_EBADARG);
    cr_assert_eq(dyn_keyring_derive(&r, secret_a, (const char *const[]){"short", NULL}, "one"),
                 ACT_EBADARG);
    cr_assert_eq(r.n, 0, "a failed derivation leaves no key");
    dyn_keyring_wipe(&a1);
    static const uint8_t zero[sizeof a1];
    cr_assert_eq(memcmp(&a1, zero, sizeof a1), 0);
}

typedef char *(*make_fn)(dyn_arena_t *, const dyn_keyring_t *, const char *, const void *, size_t,
                         int64_t);
typedef int (*read_fn)(dyn_arena_t *, const dyn_keyring_t *, const char *, const char *, size_t,
                       const void **, size_t *);

static void round_trip_and_tampering(make_fn make, read_fn readm)
{
    dyn_keyring_t kr, other, rotated, old_only;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    dyn_keyring_derive(&other, secret_b, NULL, "salt");
    dyn_keyring_derive(&rotated, secret_b, (const char *const[]){secret_a, NULL}, "salt");
    dyn_keyring_derive(&old_only, secret_b, NULL, "salt");
    static const char data[] = "user_id=42\0and a NUL";
    char *m = make(arena, &kr, "session", data, sizeof data, 0);
    cr_assert(m);
    size_t ml = strlen(m);
    for (size_t i = 0; i < ml; i++)
        cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", m[i]),
                  "a cookie-safe character: %c", m[i]);
    const void *out;
    size_t len;
    cr_assert_eq(readm(arena, &kr, "session", m, ml, &out, &len), 0);
    cr_assert_eq(len, sizeof data);
    cr_assert_eq(memcmp(out, data, len), 0);
    cr_assert_eq(((const char *)out)[len], '\0');
    /* rotation: made with the old secret, read by the keyring that lists it second */
    cr_assert_eq(readm(arena, &rotated, "session", m, ml, &out, &len), 0);
    cr_assert_eq(readm(arena, &other, "session", m, ml, &out, &len), -EBADMSG);
    char *m2 = make(arena, &rotated, "session", data, sizeof data, 0);
    cr_assert_eq(readm(arena, &old_only, "session", m2, strlen(m2), &out, &len), 0);
    cr_assert_eq(readm(arena, &kr, "session", m2, strlen(m2), &out, &len), -EBADMSG,
                 "new messages use the new secret");
    /* another purpose */
    cr_assert_eq(readm(arena, &kr, "sessio", m, ml, &out, &len), -EBADMSG);
    cr_assert_eq(readm(arena, &kr, "", m, ml, &out, &len), -EBADMSG);
    /* every single-character change, every truncation, every extension */
    char *t = strdup(m);
    for (size_t i = 0; i < ml; i++) {
        const char *alts = "Aa0-_.";
        for (const char *x = alts; *x; x++) {
            if (*x == m[i])
                continue;
            t[i] = *x;
            int rc = readm(arena, &kr, "session", t, ml, &out, &len);
            cr_assert_eq(rc, -EBADMSG, "changed at %zu to %c: %d", i, *x, rc);
        }
        t[i] = m[i];
    }
    for (size_t n = 0; n < ml; n++)
        cr_assert_eq(readm(arena, &kr, "session", m, n, &out, &len), -EBADMSG, "cut at %zu", n);
    char *longer = malloc(ml + 3);
    memcpy(longer, m, ml);
    memcpy(longer + ml, "AAA", 3);
    cr_assert_eq(readm(arena, &kr, "session", longer, ml + 3, &out, &len), -EBADMSG);
    cr_assert_eq(readm(arena, &kr, "session", longer, ml + 1, &out, &len), -EBADMSG);
    free(longer);
    free(t);
    /* garbage and empty data */
    cr_assert_eq(readm(arena, &kr, "session", "garbage", 7, &out, &len), -EBADMSG);
    cr_assert_eq(readm(arena, &kr, "session", "", 0, &out, &len), -EBADMSG);
    char *e = make(arena, &kr, "x", "", 0, 0);
    cr_assert_eq(readm(arena, &kr, "x", e, strlen(e), &out, &len), 0);
    cr_assert_eq(len, 0);
}

Test(crypto, signed_messages)
{
    round_trip_and_tampering(dyn_sign, dyn_verify);
    /* signed data stays readable, and the format has its two parts */
    dyn_keyring_t kr;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    char *m = dyn_sign(arena, &kr, "p", "hello", 5, 0);
    cr_assert(strchr(m, '.'));
    char raw[64];
    ssize_t n = dyn_base64url_decode(raw, m, (size_t)(strchr(m, '.') - m));
    cr_assert_eq(n, 14);
    cr_assert_eq(memcmp(raw + 9, "hello", 5), 0);
}

Test(crypto, encrypted_messages)
{
    round_trip_and_tampering(dyn_encrypt, dyn_decrypt);
    dyn_keyring_t kr;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    char *m1 = dyn_encrypt(arena, &kr, "p", "secret value", 12, 0);
    char *m2 = dyn_encrypt(arena, &kr, "p", "secret value", 12, 0);
    cr_assert_str_neq(m1, m2, "a fresh IV each time");
    char raw[128];
    ssize_t n = dyn_base64url_decode(raw, m1, strlen(m1));
    cr_assert_eq(n, 1 + 12 + 8 + 12 + 16);
    cr_assert_null(memmem(raw, (size_t)n, "secret", 6), "the data is not readable");
}

/* Both ways of setting the IV on a reused context (the parameter one is taken only when the
 * start-up probe passes), each against tampering, and each opening what the other sealed. */
Test(crypto, encrypted_messages_whichever_way_the_iv_is_set)
{
    dyn__crypto_set_iv_path(-1);
    round_trip_and_tampering(dyn_encrypt, dyn_decrypt);
    dyn__crypto_set_iv_path(1);
    round_trip_and_tampering(dyn_encrypt, dyn_decrypt);
    dyn_keyring_t kr;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    for (int i = 0; i < 4; i++) {
        dyn__crypto_set_iv_path(i % 2 ? 1 : -1);
        char *m = dyn_encrypt(arena, &kr, "p", "across the paths", 16, 0);
        char *again = dyn_encrypt(arena, &kr, "p", "across the paths", 16, 0);
        cr_assert_str_neq(m, again, "a fresh IV each time");
        dyn__crypto_set_iv_path(i % 2 ? -1 : 1);
        const void *data;
        size_t len;
        cr_assert_eq(dyn_decrypt(arena, &kr, "p", m, strlen(m), &data, &len), 0);
        cr_assert_eq(len, 16);
        cr_assert_eq(memcmp(data, "across the paths", 16), 0);
    }
}

/* The two AES-256-GCM implementations (libsodium's where the CPU has AES-NI, OpenSSL's with
 * either IV path): each against tampering, and each opening what every other sealed, with a
 * short purpose and with one too long for the one-call AAD (which OpenSSL's then takes). */
Test(crypto, encrypted_messages_whichever_aes_gcm_seals_them)
{
    int impls[3][2] = {{1, 1}, {-1, 1}, {-1, -1}}; /* {aead, iv path} */
    int n = dyn__crypto_set_aead(1) == 1 ? 3 : 2;
    int *from = n == 3 ? impls[0] : impls[1];
    for (int i = 0; i < n; i++) {
        dyn__crypto_set_aead(from[2 * i]);
        dyn__crypto_set_iv_path(from[2 * i + 1]);
        round_trip_and_tampering(dyn_encrypt, dyn_decrypt);
    }
    dyn_keyring_t kr;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    char long_purpose[300];
    memset(long_purpose, 'p', sizeof long_purpose - 1);
    long_purpose[sizeof long_purpose - 1] = '\0';
    const char *purposes[] = {"p", long_purpose};
    for (int pi = 0; pi < 2; pi++)
        for (int s = 0; s < n; s++)
            for (int o = 0; o < n; o++) {
                const char *purpose = purposes[pi];
                dyn__crypto_set_aead(from[2 * s]);
                dyn__crypto_set_iv_path(from[2 * s + 1]);
                char *m = dyn_encrypt(arena, &kr, purpose, "across the implementations", 26, 0);
                cr_assert(m);
                dyn__crypto_set_aead(from[2 * o]);
                dyn__crypto_set_iv_path(from[2 * o + 1]);
                const void *data;
                size_t len;
                cr_assert_eq(dyn_decrypt(arena, &kr, purpose, m, strlen(m), &data, &len), 0,
                             "sealed by %d, opened by %d, purpose of %zu bytes", s, o,
                             strlen(purpose));
                cr_assert_eq(len, 26);
                cr_assert_eq(memcmp(data, "across the implementations", 26), 0);
                cr_assert_eq(dyn_decrypt(arena, &kr, "q", m, strlen(m), &data, &len), -EBADMSG);
            }
}

static time_t fake_now = 1700000000;

static time_t fake_clock(void)
{
    return fake_now;
}

Test(crypto, expiry_is_part_of_the_message)
{
    dyn__crypto_set_clock(fake_clock);
    dyn_keyring_t kr;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    char *s = dyn_sign(arena, &kr, "p", "x", 1, 60);
    char *e = dyn_encrypt(arena, &kr, "p", "x", 1, 60);
    char *forever = dyn_sign(arena, &kr, "p", "x", 1, 0);
    const void *out;
    size_t len;
    fake_now += 59;
    cr_assert_eq(dyn_verify(arena, &kr, "p", s, strlen(s), &out, &len), 0);
    cr_assert_eq(dyn_decrypt(arena, &kr, "p", e, strlen(e), &out, &len), 0);
    fake_now += 1;
    cr_assert_eq(dyn_verify(arena, &kr, "p", s, strlen(s), &out, &len), -EKEYEXPIRED);
    cr_assert_eq(dyn_decrypt(arena, &kr, "p", e, strlen(e), &out, &len), -EKEYEXPIRED);
    fake_now += 100 * 365 * 86400LL;
    cr_assert_eq(dyn_verify(arena, &kr, "p", forever, strlen(forever), &out, &len), 0);
}

Test(crypto, secure_compare_and_random)
{
    cr_assert(dyn_secure_compare("abcd", "abcd", 4));
    cr_assert_not(dyn_secure_compare("abcd", "abce", 4));
    cr_assert(dyn_secure_compare("", "x", 0));
    uint8_t a[32] = {0}, b[32] = {0};
    cr_assert_eq(dyn_random_bytes(a, sizeof a), 0);
    cr_assert_eq(dyn_random_bytes(b, sizeof b), 0);
    cr_assert_neq(memcmp(a, b, sizeof a), 0);
}

Test(crypto, a_forked_child_never_reuses_the_parents_ivs)
{
    dyn_keyring_t kr;
    dyn_keyring_derive(&kr, secret_a, NULL, "salt");
    (void)dyn_encrypt(arena, &kr, "p", "x", 1, 0); /* the parent's IV buffer is filled */
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char *m = dyn_encrypt(arena, &kr, "p", "x", 1, 0);
        ssize_t w = write(fds[1], m, strlen(m));
        _exit(w > 0 ? 0 : 1);
    }
    close(fds[1]);
    char child[256] = "";
    cr_assert_gt(read(fds[0], child, sizeof child - 1), 0);
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    char *mine = dyn_encrypt(arena, &kr, "p", "x", 1, 0);
    uint8_t a[64], b[64];
    cr_assert_gt(dyn_base64url_decode(a, child, strlen(child)), 13);
    cr_assert_gt(dyn_base64url_decode(b, mine, strlen(mine)), 13);
    cr_assert_neq(memcmp(a + 1, b + 1, 12), 0, "parent and child sealed with the same IV");
}
