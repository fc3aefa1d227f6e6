/* The actor runtime's whole public API. */
#ifndef ACT_ACT_H
#define ACT_ACT_H

#include "actor/actor.h"
#include "actor/app.h"
#include "actor/mem.h"
#include "actor/msg.h"
#include "actor/node.h"
#include "actor/registry.h"
#include "actor/report.h"
#include "actor/server.h"
#include "actor/start.h"
#include "actor/sup.h"
#include "actor/system.h"
#include "actor/timer.h"
#include "actor/types.h"

#endif
