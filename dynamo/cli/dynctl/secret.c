/*
 * dynctl secret: a new secret_key_base for SECRET_KEY_BASE (`mix phx.gen.secret`): 64 random
 * bytes from the kernel, in base64url (86 characters).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "dynctl.h"

static int secret(int argc, char **argv);

const dynctl_cmd_t dynctl_secret = {
    .name = "secret",
    .fn = secret,
    .summary = "print a new random secret for SECRET_KEY_BASE",
    .help = "usage: dynctl secret\n"
            "\n"
            "Prints 64 random bytes (getrandom) in base64url, 86 characters: a secret for\n"
            "SECRET_KEY_BASE, which signs and encrypts cookies and sessions in prod:\n"
            "    export SECRET_KEY_BASE=$(dynctl secret)\n",
};

static int secret(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(dynctl_secret.help, stdout);
            return DYNCTL_EXIT_OK;
        }
        return dynctl_usage(&dynctl_secret, "no arguments expected, got %s", argv[1]);
    }
    unsigned char bytes[66]; /* 64 asked; 66 makes whole groups of 3 (the last 2 unused) */
    size_t got = 0;
    while (got < 64) {
        ssize_t n = getrandom(bytes + got, 64 - got, 0);
        if (n < 0 && errno != EINTR)
            return dynctl_fail(DYNCTL_EXIT_FAILED, "getrandom: %s", strerror(errno));
        if (n > 0)
            got += (size_t)n;
    }
    bytes[64] = bytes[65] = 0;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char out[89];
    size_t k = 0;
    for (size_t i = 0; i < 66; i += 3) {
        unsigned v = (unsigned)bytes[i] << 16 | (unsigned)bytes[i + 1] << 8 | bytes[i + 2];
        for (int j = 3; j >= 0; j--)
            out[k++] = b64[(v >> (6 * j)) & 63];
    }
    out[86] = '\0'; /* 64 bytes are 85.3 characters: 86, without padding */
    puts(out);
    return DYNCTL_EXIT_OK;
}
