#include "test_util.h"

#include <unistd.h>

static int64_t live_before;

void tu_start(unsigned n)
{
    live_before = act_mem_live_blocks();
    act_config_t c = {.schedulers = n};
    cr_assert_eq(act_system_start(&c), 0);
}

void tu_start2(void)
{
    tu_start(2);
}

void tu_stop(void)
{
    if (!act_system_running())
        return;
    cr_assert_eq(act_system_stop(), 0);
    cr_expect_eq(act_mem_live_blocks(), live_before, "blocks leaked by the runtime: %lld",
                 (long long)(act_mem_live_blocks() - live_before));
}

int tu_send_int(act_pid_t pid, uint32_t type, int64_t v)
{
    tu_int_t *m = act_msg_new(tu_int_t, type);
    m->v = v;
    return act_send(pid, &m->hdr);
}

int64_t tu_recv_int(uint32_t type, int64_t ms)
{
    act_msg_t *m = NULL;
    int rc = act_receive_type(type, MS(ms), &m);
    cr_assert_eq(rc, 0, "no message of type %u within %lld ms: %s", type, (long long)ms,
                 act_strerror(rc));
    int64_t v = ((tu_int_t *)m)->v;
    act_msg_free(m);
    return v;
}

act_down_t *tu_recv_down(uint32_t type, int64_t ms)
{
    act_msg_t *m = NULL;
    int rc = act_receive_type(type, MS(ms), &m);
    cr_assert_eq(rc, 0, "no %s within %lld ms", type == ACT_MSG_DOWN ? "DOWN" : "EXIT",
                 (long long)ms);
    return (act_down_t *)m;
}

bool tu_wait(bool (*pred)(void *), void *arg, int64_t ms)
{
    int64_t end = act_now_ms() + MS(ms);
    while (!pred(arg)) {
        if (act_now_ms() > end)
            return false;
        usleep(200);
    }
    return true;
}

static bool is_dead(void *arg)
{
    return !act_is_alive(*(act_pid_t *)arg);
}

bool tu_wait_dead(act_pid_t pid, int64_t ms)
{
    return tu_wait(is_dead, &pid, ms);
}
