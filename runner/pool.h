#ifndef POOL_H
#define POOL_H

#include <stdint.h>

/*
 * A fixed pool of worker threads (see pool.c's DESIGN comment).
 *
 * The caller submits jobs (a function and its argument) and collects
 * finished ones from the completion queue, on one thread (the scheduler).
 * A job's argument is borrowed by the worker while fn runs and handed
 * back through pool_next_done(); the pool never frees it.
 */
struct pool;

struct strbuf;

/*
 * Start nr_threads workers (>= 1). NULL, with the reason in err, when
 * the system will not start them all; the ones already started are
 * stopped again, so nothing is left behind.
 */
struct pool *pool_new(int nr_threads, struct strbuf *err);
/*
 * Queue fn(arg). Never blocks: the queue is unbounded, so the caller
 * decides how much to put in flight (the scheduler submits at most
 * concurrency jobs).
 */
void pool_submit(struct pool *p, void (*fn)(void *arg), void *arg);
/*
 * Wait up to timeout_ms (-1: forever) for a finished job. Returns its
 * arg, or NULL on time-out or when pool_wake() was called.
 */
void *pool_next_done(struct pool *p, int64_t timeout_ms);
/* Make a waiting pool_next_done() return NULL now (async-signal-unsafe). */
void pool_wake(struct pool *p);
/* Jobs submitted and not yet collected. */
int pool_in_flight(struct pool *p);
/* Wait for queued jobs to finish, stop the workers, free the pool. */
void pool_free(struct pool *p);

#endif
