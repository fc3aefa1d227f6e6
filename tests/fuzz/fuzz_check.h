/* Checks for the fuzz targets that hold in every build type (assert vanishes under NDEBUG, and
 * the fuzz build is RelWithDebInfo), and libFuzzer's entry point declared. */
#ifndef DYN_FUZZ_CHECK_H
#define DYN_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
