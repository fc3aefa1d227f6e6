/* The dev environment: the debug exception page, web/ reloaded as it changes. */
#include "fruits.h"

const dyn_config_t fruits_dev = {
    .port = 4001,
    .log_level = DYN_LOG_DEBUG,
    .code_reload = DYN_SWITCH_ON,
    .debug_errors = DYN_SWITCH_ON,
    .secret = "cj73hzeyPQrlJPKJnSn8KiV-IlTK2RtTk7_kFwSfQ_SHKdWH0urHapyq7uVnh_vg",
};
