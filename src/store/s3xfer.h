#ifndef COFFER_S3XFER_H
#define COFFER_S3XFER_H

/* Requests in flight at once (docs/s3.md, "Many requests in flight"): one
 * thread drives one curl multi handle, so every job shares its connection
 * cache (keep-alive, one TLS handshake per connection, not per object).
 * At most `limit` jobs are in the engine at a time — running, or waiting
 * out a retry's backoff — and s3xfer_submit() waits for room, so memory
 * stays bounded by what the jobs hold.
 *
 * The engine knows nothing of S3: a job is a sequence of requests (a HEAD,
 * then a PUT, say) that its ops set up and judge. Used by backend_s3.c
 * for the asynchronous pack uploads. */

#include <curl/curl.h>

struct s3xfer;

struct s3xfer_ops {
	/* Sets up the (reset) easy handle h for the job's next request. */
	void (*setup)(void *job, CURL *h);
	/* The request on h ended with rc. Returns -1 when the job is over
	 * (finish is called next), else the milliseconds to wait before
	 * setup is called again (a retry, or the job's next request: 0). */
	long (*done)(void *job, CURL *h, CURLcode rc);
	/* The job is over; called once, from the engine's thread (or from
	 * s3xfer_free() for a job cancelled there, with cancelled 1). */
	void (*finish)(void *job, int cancelled);
};

/* NULL if the thread or the multi handle cannot be made. */
struct s3xfer *s3xfer_new(unsigned limit);
/* Hands the job over; waits while `limit` jobs are in the engine. */
void s3xfer_submit(struct s3xfer *x, void *job, const struct s3xfer_ops *ops);
/* Waits until every job submitted so far is over. */
void s3xfer_wait(struct s3xfer *x);
/* Stops the thread; jobs not over are cancelled (finish(job, 1)). */
void s3xfer_free(struct s3xfer **x);

#endif
