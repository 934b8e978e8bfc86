/*
 * DESIGN
 *
 * A fixed set of worker threads and two queues, both guarded by one
 * mutex (redis bio.c model, with a completion queue):
 *
 *   todo: jobs submitted and not started, FIFO. Workers sleep on
 *         `work` until it is non-empty or the pool is stopping.
 *   done: jobs whose function returned, FIFO. The scheduler sleeps on
 *         `finished` in pool_next_done().
 *
 * The scheduler is the only thread that submits and collects, so every
 * decision about what runs next is made on one thread, and workers only
 * run a job's function. Nothing in the pool allocates per job besides its
 * queue node, and nothing is freed behind the caller's back.
 */
#include "runner.h"
#include "pool.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

struct pool_node {
	void (*fn)(void *arg);
	void *arg;
	struct pool_node *next;
};

struct pool_queue {
	struct pool_node *head, *tail;
};

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t work;	 /* todo gained a job, or stopping */
	pthread_cond_t finished; /* done gained a job, or woken */
	struct pool_queue todo;	 /* guarded by lock */
	struct pool_queue done;	 /* guarded by lock */
	int in_flight;		 /* guarded by lock */
	bool stopping;		 /* guarded by lock */
	bool woken;		 /* guarded by lock */
	int nr_threads;
	pthread_t *threads;
};

static void queue_push(struct pool_queue *q, struct pool_node *n)
{
	n->next = NULL;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
}

static struct pool_node *queue_pop(struct pool_queue *q)
{
	struct pool_node *n = q->head;
	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = NULL;
	}
	return n;
}

static void *worker_main(void *data)
{
	struct pool *p = data;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct pool_node *n = queue_pop(&p->todo);
		if (!n) {
			if (p->stopping)
				break;
			pthread_cond_wait(&p->work, &p->lock);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		n->fn(n->arg);
		pthread_mutex_lock(&p->lock);
		queue_push(&p->done, n);
		pthread_cond_signal(&p->finished);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct pool *pool_new(int nr_threads, struct strbuf *err)
{
	struct pool *p = xcalloc(1, sizeof(*p));
	sigset_t all, old;
	int rc = 0;

	if (nr_threads < 1)
		BUG("pool_new: %d threads", nr_threads);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->finished, NULL);
	p->threads = xcalloc((size_t)nr_threads, sizeof(*p->threads));
	/* Signals are the main thread's business: workers block them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	while (p->nr_threads < nr_threads && !rc) {
		rc = pthread_create(&p->threads[p->nr_threads], NULL,
				    worker_main, p);
		if (!rc)
			p->nr_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		strbuf_addf(err, "cannot start worker thread: %s",
			    strerror(rc));
		pool_free(p); /* stops and joins the ones that started */
		return NULL;
	}
	return p;
}

void pool_submit(struct pool *p, void (*fn)(void *arg), void *arg)
{
	struct pool_node *n = xmalloc(sizeof(*n));
	n->fn = fn;
	n->arg = arg;
	pthread_mutex_lock(&p->lock);
	queue_push(&p->todo, n);
	p->in_flight++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void *pool_next_done(struct pool *p, int64_t timeout_ms)
{
	struct timespec deadline;
	struct pool_node *n;
	void *arg = NULL;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += (time_t)(timeout_ms / 1000);
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&p->lock);
	while (!(n = queue_pop(&p->done)) && !p->woken) {
		int rc = timeout_ms < 0
				 ? pthread_cond_wait(&p->finished, &p->lock)
				 : pthread_cond_timedwait(&p->finished,
							  &p->lock, &deadline);
		if (rc == ETIMEDOUT)
			break;
	}
	p->woken = false;
	if (n) {
		p->in_flight--;
		arg = n->arg;
	}
	pthread_mutex_unlock(&p->lock);
	free(n);
	return arg;
}

void pool_wake(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->woken = true;
	pthread_cond_signal(&p->finished);
	pthread_mutex_unlock(&p->lock);
}

int pool_in_flight(struct pool *p)
{
	int n;
	pthread_mutex_lock(&p->lock);
	n = p->in_flight;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void pool_free(struct pool *p)
{
	struct pool_node *n;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->nr_threads; i++)
		pthread_join(p->threads[i], NULL);
	while ((n = queue_pop(&p->done)))
		free(n);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->finished);
	pthread_mutex_destroy(&p->lock);
	free(p->threads);
	free(p);
}
