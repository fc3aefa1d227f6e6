/*
 * The name registry: a pid under a name, like Erlang's register/whereis. A name is released
 * when its actor exits. Lookups take no lock.
 */
#ifndef ACT_REGISTRY_H
#define ACT_REGISTRY_H

#include "actor/msg.h"

/* Longest name accepted, in bytes. */
#define ACT_NAME_MAX 255

/* Registers pid under name (copied). Returns 0, ACT_ENAMETAKEN, ACT_EALREADYREG (pid has a
 * name), ACT_ENOPROC, or ACT_EBADARG (empty or longer than ACT_NAME_MAX). Any thread. */
ACT_API int act_register(const char *name, act_pid_t pid);
/* Removes name. Returns 0 or ACT_ENONAME. Any thread. */
ACT_API int act_unregister(const char *name);
/* The pid registered under name, or ACT_PID_NONE. Any thread. */
ACT_API act_pid_t act_whereis(const char *name);
/* act_send to the actor registered under name; returns ACT_ENONAME (msg freed) if none. */
ACT_API int act_send_name(const char *name, act_msg_t *msg);

/* Calls fn(name, pid, arg) for every registered name (a snapshot). */
ACT_API void act_registry_foreach(void (*fn)(const char *name, act_pid_t pid, void *arg),
                                  void *arg);

#endif
