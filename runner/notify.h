#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

struct run;
struct strvec;

/*
 * Notifications (plan key notify:, plan.h's struct plan_notify): a JSON
 * summary of the run POSTed to a webhook when the run ends (on: failure,
 * or always) and when its cost passes 80% of limits.budget_usd (on:
 * budget). The body's shape is schema/notify.schema.json (README,
 * "Notifications").
 *
 * A post never holds up the run nor changes how it ends:
 *  - the budget post goes out on a thread of its own, so no task waits
 *    for a slow webhook;
 *  - the end post is made after the run's records and results are
 *    written (the scheduler calls notify_end() last);
 *  - each try has the plan's timeout (default 10 s); a try that times
 *    out, cannot connect, or gets 429 or 5xx is tried again, 3 tries in
 *    all, 1 s then 2 s apart; so one post takes at most 3 timeouts + 3 s.
 *    Any other answer is final;
 *  - what happened comes back as text for the caller to record (an
 *    event) and to warn about; nothing here prints or touches the state.
 *
 * Secrets: every string in a body is masked (mask.h, the run's secret
 * values) before it is put in; the webhook URL and what the server says
 * are never put in a message beyond the host and HTTP's status.
 */
struct notify;

/* How the posts went, in the order they were made. */
struct notify_report {
	struct strvec *sent;   /* "posted run_finished to the webhook ..." */
	struct strvec *failed; /* "cannot post budget to the webhook: ..." */
};

/*
 * The notifier of run (borrowed; it must outlive the notifier), or NULL
 * when its plan has no webhook.
 */
struct notify *notify_new(const struct run *run);

/*
 * The run has spent spent_usd: when that passes 80% of the budget for
 * the first time and on: has budget, the budget summary is built now
 * and posted in the background. Main thread, between tasks.
 */
void notify_cost(struct notify *n, double spent_usd);

/*
 * The run has ended with status ("succeeded", "failed", "interrupted")
 * and exit_code, its records written: wait for the budget post, if one
 * is going, then post the end summary if on: asks for it, and say how
 * each went into rep. NULL n does nothing.
 */
void notify_end(struct notify *n, const char *status, int exit_code,
		struct notify_report *rep);

/* Waits for a post still going; NULL is a no-op. */
void notify_free(struct notify *n);

#endif
