# Flags live on targets, never in CMAKE_C_FLAGS, so third-party sources escape our -Werror.
add_library(dyn_warnings INTERFACE)
target_compile_options(dyn_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
  -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(DYN_WERROR)
  target_compile_options(dyn_warnings INTERFACE -Werror)
endif()

# Sanitizers apply to everything we compile and link (tests and apps included).
add_library(dyn_sanitize INTERFACE)
if(DYN_SANITIZE)
  if(DYN_SANITIZE MATCHES "thread" AND DYN_SANITIZE MATCHES "address")
    message(FATAL_ERROR "DYN_SANITIZE: thread cannot be combined with address")
  endif()
  target_compile_options(dyn_sanitize INTERFACE -fsanitize=${DYN_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(dyn_sanitize INTERFACE -fsanitize=${DYN_SANITIZE})
  if(DYN_SANITIZE MATCHES "thread")
    target_compile_definitions(dyn_sanitize INTERFACE DYN_TSAN=1 DYN_TEST_TIMEOUT_SCALE=10)
  else()
    target_compile_definitions(dyn_sanitize INTERFACE DYN_ASAN=1 DYN_TEST_TIMEOUT_SCALE=5)
  endif()
endif()

# Hardening of optimized builds without sanitizers (the release): fortified libc calls, stack
# canaries where arrays or addresses live, stack clash probes, a position-independent executable
# and full RELRO (the GOT read-only after start-up). Their cost, in instructions per request
# (callgrind, scripts/bench-http.sh's hello world): docs/http.md. -fcf-protection is left out:
# it cost up to 3.5% there and protects nothing yet, since the fiber switch moves stacks by hand
# (the binary cannot be marked for shadow stacks) and Linux enforces no user-space IBT.
add_library(dyn_harden INTERFACE)
if(DYN_HARDEN AND NOT DYN_SANITIZE AND CMAKE_BUILD_TYPE MATCHES "^(Release|RelWithDebInfo|MinSizeRel)$")
  target_compile_options(dyn_harden INTERFACE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
    -fstack-protector-strong -fstack-clash-protection -fPIE)
  target_link_options(dyn_harden INTERFACE -pie -Wl,-z,relro,-z,now)
endif()

# dyn_target(NAME): the flags every target of ours gets.
function(dyn_target name)
  target_link_libraries(${name} PRIVATE dyn_warnings dyn_sanitize dyn_harden)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  set_target_properties(${name} PROPERTIES C_VISIBILITY_PRESET hidden)
endfunction()
