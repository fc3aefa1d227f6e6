/* Error codes and exit reasons as text: one table (ACT_ERRNO_MAP) makes both. */
#include <stdio.h>
#include <string.h>

#include "actor/types.h"

const char *act_strerror(int err)
{
    switch (-err) {
#define ACT__ERR_MSG(name, msg)                                                                    \
    case ACT__E##name:                                                                             \
        return msg;
        ACT_ERRNO_MAP(ACT__ERR_MSG)
#undef ACT__ERR_MSG
    default:
        break;
    }
    if (err == 0)
        return "success";
    if (err < 0 && -err < ACT__ERR_BASE)
        return strerror(-err); /* glibc: thread-safe for valid errno values (static strings) */
    return "unknown error";
}

const char *act_err_name(int err)
{
    switch (-err) {
#define ACT__ERR_NAME(name, msg)                                                                   \
    case ACT__E##name:                                                                             \
        return "ACT_E" #name;
        ACT_ERRNO_MAP(ACT__ERR_NAME)
#undef ACT__ERR_NAME
    default:
        break;
    }
    if (err == 0)
        return "OK";
    if (err < 0 && -err < ACT__ERR_BASE) {
        const char *name = strerrorname_np(-err);
        if (name)
            return name;
    }
    return "EUNKNOWN";
}

const char *act_reason_str(int reason)
{
    switch (reason) {
    case ACT_NORMAL:
        return "normal";
    case ACT_SHUTDOWN:
        return "shutdown";
    case ACT_KILL:
        return "kill";
    case ACT_KILLED:
        return "killed";
    case ACT_NOPROC:
        return "noproc";
    case ACT_CRASH:
        return "crash";
    case ACT_NOSTART:
        return "failed to start";
    default:
        break;
    }
    if (reason < 0)
        return act_strerror(reason);
    /* A small per-thread buffer keeps the function allocation-free for user reasons. */
    static _Thread_local char buf[32];
    snprintf(buf, sizeof buf, "reason %d", reason);
    return buf;
}
