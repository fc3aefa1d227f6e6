/* Helpers of the end-to-end suites: run a real binary with pipes on its stdin, stdout and
 * stderr, talk to it line by line, wait for its exit. */
#ifndef PROC_UTIL_H
#define PROC_UTIL_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef DYN_TEST_TIMEOUT_SCALE
#define DYN_TEST_TIMEOUT_SCALE 1
#endif
#define TMO(s) ((double)(s)*DYN_TEST_TIMEOUT_SCALE)
#define MS(ms) ((int64_t)(ms)*DYN_TEST_TIMEOUT_SCALE)

typedef struct {
    pid_t pid;
    int in, out, err;  /* our ends of its stdin, stdout, stderr */
    char outbuf[8192]; /* stdout read but not yet returned */
    size_t outlen;
    char errbuf[16384]; /* all of stderr so far */
    size_t errlen;
    int status; /* exit status once proc_wait returned true; -signal if killed */
} proc_t;

/* Starts argv[0] with argv; fails the test on error. */
void proc_start(proc_t *p, char *const argv[]);
/* Writes a line (a newline is added). */
void proc_send(proc_t *p, const char *line);
/* Reads the next stdout line (without its newline) into buf within ms; false on timeout/EOF. */
bool proc_line(proc_t *p, char *buf, size_t len, int64_t ms);
/* Reads what its stdout and stderr hold now (stdout kept for proc_line), so a chatty process
 * never blocks on a full pipe while the test does something else. */
void proc_drain(proc_t *p);
/* Waits up to ms for the exit (collecting stderr); true if it exited. */
bool proc_wait(proc_t *p, int64_t ms);
/* Kills it if still running and closes the pipes. */
void proc_end(proc_t *p);

/* A monotonic clock in milliseconds. */
int64_t now_ms(void);

#endif
