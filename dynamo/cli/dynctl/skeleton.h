/*
 * The project skeleton `dynctl new` writes: the files of dynamo/cli/dynctl/skeleton/, compiled
 * into dynctl by the build (cmake/EmbedFiles.cmake generates skeleton.c).
 */
#ifndef DYNCTL_SKELETON_H
#define DYNCTL_SKELETON_H

#include <stddef.h>

typedef struct dynctl_skel_file {
    const char *path; /* relative to the skeleton's root, with its placeholders */
    const unsigned char *data;
    size_t len;
} dynctl_skel_file_t;

extern const dynctl_skel_file_t dynctl_skeleton[];
extern const size_t dynctl_skeleton_n;

#endif
