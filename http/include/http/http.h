/* The HTTP layer's whole public API. */
#ifndef HTTP_HTTP_H
#define HTTP_HTTP_H

#include "http/req.h"
#include "http/resp.h"
#include "http/server.h"
#include "http/types.h"

#endif
