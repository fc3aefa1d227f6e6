/* Output helpers the framework shares and users do not need (buf.c). */
#ifndef DYN_BUF_INT_H
#define DYN_BUF_INT_H

#include "dynamo/buf.h"

/* Room for any 64-bit integer in decimal, sign included (no NUL). */
#define DYN__INT_TEXT_MAX 20

/* Writes u's digits backwards, ending just before end; returns the first digit. */
char *dyn__utoa_back(unsigned long long u, char *end);

/* Appends i in decimal: printf's %lld without printf (a request formats a few). */
void dyn__buf_put_int(dyn_buf_t *b, long long i);

#endif
