/* The supervisor restart benchmarks (bench_sup.c), for actor_bench's mode table. */
#ifndef BENCH_SUP_H
#define BENCH_SUP_H

/* sup_restart: crashes a supervised server `restarts` times (0: 100,000), waiting for each
 * restart, under one supervisor whose intensity never trips; prints one JSON line (bench
 * "sup_restart", metric "rate", unit "restarts/s", with "elapsed_s" and "restarts").
 * sup_restart_chunked: the same with a fresh supervisor every 1,000 restarts, its start and
 * stop included (bench "sup_restart_chunked", plus "chunk").
 * Both use the running actor system if there is one (schedulers is then ignored), else start
 * one with `schedulers` (0: one per core) and stop it. Return 0, or 1 after a message on
 * stderr. */
int bench_sup_restart(unsigned schedulers, long restarts);
int bench_sup_restart_chunked(unsigned schedulers, long restarts);

#endif
