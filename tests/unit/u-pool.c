#include "runner.h"
#include "pool.h"
#include "timeutil.h"
#include "tap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>

static atomic_int running, peak;

struct job {
	int id;
	int sleep_ms;
	int result;
};

static void work(void *arg)
{
	struct job *j = arg;
	int now = atomic_fetch_add(&running, 1) + 1;
	int old = atomic_load(&peak);
	while (now > old && !atomic_compare_exchange_weak(&peak, &old, now))
		;
	time_sleep_ms(j->sleep_ms);
	j->result = j->id * 2;
	atomic_fetch_sub(&running, 1);
}

static void test_bounded(void)
{
	struct strbuf err = STRBUF_INIT;
	struct pool *p = pool_new(3, &err);
	struct job jobs[12];
	int collected = 0, sum = 0;

	for (int i = 0; i < 12; i++) {
		jobs[i] = (struct job){ .id = i, .sleep_ms = 20 };
		pool_submit(p, work, &jobs[i]);
	}
	while (collected < 12) {
		struct job *j = pool_next_done(p, 5000);
		if (!j)
			break;
		collected++;
		sum += j->result;
	}
	is_int(collected, 12, "every job comes back through the done queue");
	is_int(sum, 2 * 66, "each job ran exactly once");
	ok(atomic_load(&peak) <= 3, "never more than 3 at once (peak %d)",
	   atomic_load(&peak));
	ok(atomic_load(&peak) >= 2, "jobs do run in parallel");
	is_int(pool_in_flight(p), 0, "nothing left in flight");
	pool_free(p);
	strbuf_release(&err);
}

static void test_timeout_and_wake(void)
{
	struct strbuf err = STRBUF_INIT;
	struct pool *p = pool_new(1, &err);
	int64_t t0 = time_mono_ms();
	ok(pool_next_done(p, 50) == NULL, "time-out returns NULL");
	ok(time_mono_ms() - t0 >= 45, "and waits about as long as asked");
	pool_wake(p);
	ok(pool_next_done(p, 5000) == NULL, "a wake returns NULL at once");
	ok(time_mono_ms() - t0 < 2000, "without waiting for the time-out");
	pool_free(p);
	strbuf_release(&err);
}

/*
 * Threads that cannot start: with the address space capped, the stacks
 * of 64 workers (8 MiB each) do not fit. pool_new says so, as an error
 * for its caller; it does not exit. Skipped under the sanitizers, which
 * reserve far more address space than any cap this could set.
 */
static void test_threads_refused(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip("sanitizer build: the address space cannot be capped");
#else
	struct strbuf err = STRBUF_INIT;
	struct rlimit old, cap;
	struct pool *p;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%lu", &pages) != 1 ||
	    getrlimit(RLIMIT_AS, &old) < 0) {
		skip("no /proc/self/statm or RLIMIT_AS");
		if (f)
			fclose(f);
		return;
	}
	fclose(f);
	cap = old;
	cap.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
		       (64 << 20);
	setrlimit(RLIMIT_AS, &cap);
	p = pool_new(64, &err);
	setrlimit(RLIMIT_AS, &old);
	ok(p == NULL, "pool_new fails when its threads cannot start");
	ok(strstr(err.buf, "cannot start worker thread: ") == err.buf,
	   "and says why: %s", err.buf);
	pool_free(p);
	strbuf_release(&err);
#endif
}

int main(void)
{
	test_bounded();
	test_timeout_and_wake();
	test_threads_refused();
	return done_testing();
}
