#include "runner.h"
#include "pool.h"
#include "timeutil.h"
#include "tap.h"

#include <pthread.h>
#include <stdatomic.h>

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
	struct pool *p = pool_new(3);
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
}

static void test_timeout_and_wake(void)
{
	struct pool *p = pool_new(1);
	int64_t t0 = time_mono_ms();
	ok(pool_next_done(p, 50) == NULL, "time-out returns NULL");
	ok(time_mono_ms() - t0 >= 45, "and waits about as long as asked");
	pool_wake(p);
	ok(pool_next_done(p, 5000) == NULL, "a wake returns NULL at once");
	ok(time_mono_ms() - t0 < 2000, "without waiting for the time-out");
	pool_free(p);
}

int main(void)
{
	test_bounded();
	test_timeout_and_wake();
	return done_testing();
}
