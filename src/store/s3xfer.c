/* Requests in flight at once over one curl multi handle (s3xfer.h). The
 * engine's thread owns the multi handle and every job's easy handle;
 * other threads only hand jobs over (a list under the lock, then
 * curl_multi_wakeup) and wait for room or for the end. */
#include "s3xfer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "lib/mem.h"

#define S3XFER_POLL_MS 1000

struct xjob {
	void *job;
	const struct s3xfer_ops *ops;
	CURL *h;
	int64_t due_ms;  /* waiting: when setup runs again */
	int running;     /* in the multi handle */
	struct xjob *next;
};

struct s3xfer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t room;    /* a job ended */
	CURLM *multi;
	unsigned limit;
	unsigned njobs;         /* in the engine: handed over, running or waiting */
	int stop;
	struct xjob *incoming;  /* handed over, not yet taken by the thread (newest first) */
	/* The thread's own: */
	struct xjob *jobs;      /* running or waiting */
	CURL **idle;            /* easy handles to reuse */
	size_t nidle;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static CURL *handle_take(struct s3xfer *x)
{
	CURL *h;

	if (x->nidle > 0)
		return x->idle[--x->nidle];
	if ((h = curl_easy_init()) == NULL)
		abort(); /* out of memory, as xmalloc */
	return h;
}

static void handle_give(struct s3xfer *x, CURL *h)
{
	if (x->nidle < x->limit)
		x->idle[x->nidle++] = h;
	else
		curl_easy_cleanup(h);
}

/* Starts the request of every waiting job that is due; returns how long
 * the earliest of the others still has to wait (S3XFER_POLL_MS at most). */
static long start_due(struct s3xfer *x)
{
	int64_t now = now_ms(), wait = S3XFER_POLL_MS;
	struct xjob *j;

	for (j = x->jobs; j != NULL; j = j->next) {
		if (j->running)
			continue;
		if (j->due_ms > now) {
			if (j->due_ms - now < wait)
				wait = j->due_ms - now;
			continue;
		}
		if (j->h == NULL)
			j->h = handle_take(x);
		else
			curl_easy_reset(j->h);
		j->ops->setup(j->job, j->h);
		curl_easy_setopt(j->h, CURLOPT_PRIVATE, (char *)j);
		curl_multi_add_handle(x->multi, j->h);
		j->running = 1;
	}
	return (long)wait;
}

static void job_end(struct s3xfer *x, struct xjob *j)
{
	struct xjob **p;

	for (p = &x->jobs; *p != j; p = &(*p)->next)
		;
	*p = j->next;
	if (j->h != NULL)
		handle_give(x, j->h);
	j->ops->finish(j->job, 0);
	free(j);
	pthread_mutex_lock(&x->lock);
	x->njobs--;
	pthread_cond_broadcast(&x->room);
	pthread_mutex_unlock(&x->lock);
}

static void *s3xfer_main(void *arg)
{
	struct s3xfer *x = arg;

	for (;;) {
		struct xjob *in, *next;
		CURLMsg *msg;
		int still, left;
		long wait;

		pthread_mutex_lock(&x->lock);
		in = x->incoming;
		x->incoming = NULL;
		if (x->stop) {
			x->incoming = in; /* s3xfer_free() cancels them */
			pthread_mutex_unlock(&x->lock);
			break;
		}
		pthread_mutex_unlock(&x->lock);
		for (; in != NULL; in = next) {
			next = in->next;
			in->next = x->jobs;
			x->jobs = in;
		}
		wait = start_due(x);
		curl_multi_perform(x->multi, &still);
		while ((msg = curl_multi_info_read(x->multi, &left)) != NULL) {
			struct xjob *j = NULL;
			long again;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			curl_multi_remove_handle(x->multi, j->h);
			j->running = 0;
			again = j->ops->done(j->job, j->h, msg->data.result);
			if (again < 0) {
				job_end(x, j);
			} else {
				j->due_ms = now_ms() + again;
				if (again < wait)
					wait = again; /* the retry's backoff, or 0: its next request */
			}
		}
		if (wait > 0)
			curl_multi_poll(x->multi, NULL, 0, (int)wait, NULL);
	}
	return NULL;
}

struct s3xfer *s3xfer_new(unsigned limit)
{
	struct s3xfer *x = xcalloc(1, sizeof(*x));

	x->limit = limit ? limit : 1;
	x->idle = xcalloc(x->limit, sizeof(*x->idle));
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->room, NULL);
	if ((x->multi = curl_multi_init()) == NULL)
		goto fail;
	curl_multi_setopt(x->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)x->limit);
	curl_multi_setopt(x->multi, CURLMOPT_MAXCONNECTS, (long)x->limit);
	if (pthread_create(&x->thread, NULL, s3xfer_main, x) != 0) {
		curl_multi_cleanup(x->multi);
		goto fail;
	}
	return x;
fail:
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->room);
	free(x->idle);
	free(x);
	return NULL;
}

void s3xfer_submit(struct s3xfer *x, void *job, const struct s3xfer_ops *ops)
{
	struct xjob *j = xcalloc(1, sizeof(*j));

	j->job = job;
	j->ops = ops;
	j->due_ms = 0;
	pthread_mutex_lock(&x->lock);
	while (x->njobs >= x->limit)
		pthread_cond_wait(&x->room, &x->lock);
	x->njobs++;
	j->next = x->incoming;
	x->incoming = j;
	pthread_mutex_unlock(&x->lock);
	curl_multi_wakeup(x->multi);
}

void s3xfer_wait(struct s3xfer *x)
{
	pthread_mutex_lock(&x->lock);
	while (x->njobs > 0)
		pthread_cond_wait(&x->room, &x->lock);
	pthread_mutex_unlock(&x->lock);
}

static void cancel_list(struct s3xfer *x, struct xjob *j)
{
	struct xjob *next;

	for (; j != NULL; j = next) {
		next = j->next;
		if (j->running)
			curl_multi_remove_handle(x->multi, j->h);
		if (j->h != NULL)
			curl_easy_cleanup(j->h);
		j->ops->finish(j->job, 1);
		free(j);
	}
}

void s3xfer_free(struct s3xfer **xp)
{
	struct s3xfer *x = *xp;
	size_t i;

	if (x == NULL)
		return;
	*xp = NULL;
	pthread_mutex_lock(&x->lock);
	x->stop = 1;
	pthread_mutex_unlock(&x->lock);
	curl_multi_wakeup(x->multi);
	pthread_join(x->thread, NULL);
	cancel_list(x, x->jobs);
	cancel_list(x, x->incoming);
	for (i = 0; i < x->nidle; i++)
		curl_easy_cleanup(x->idle[i]);
	curl_multi_cleanup(x->multi);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->room);
	free(x->idle);
	free(x);
}
