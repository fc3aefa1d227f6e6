/*
 * Between the node (node.c) and its control server (control.c).
 */
#ifndef DYN_NODE_INT_H
#define DYN_NODE_INT_H

#include "dynamo/dynamo.h"

/* A line of the node's own ("[dynamo] ..."), through the runtime's report sink. */
__attribute__((format(printf, 1, 2))) void dyn__node_report(const char *fmt, ...);

/* Runs one control command (a request line without its newline) and returns the answer:
 * "ok\n" and its text, or "error: ...\n" (act_malloc'ed, never NULL: out of memory stops the
 * process). *stop is set when the answer must be followed by the node's stop. Fiber. */
char *dyn__node_command(const char *line, bool *stop);

#endif
