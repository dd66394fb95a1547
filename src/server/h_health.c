/* Handlers: health, whoami and metrics (docs/api.md). Health needs no
 * token; whoami any valid one; metrics as routes.c allows it. */
#include <stdlib.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "server/request.h"

int h_health(struct request *r, struct json_object *in, struct json_object **out,
	     struct error *err)
{
	(void)in;
	(void)err;
	*out = svc_health(r->svc);
	return 0;
}

int h_whoami(struct request *r, struct json_object *in, struct json_object **out,
	     struct error *err)
{
	(void)in;
	return svc_whoami(r->svc, &r->principal, out, err);
}

int h_metrics(struct request *r, struct json_object *in, struct json_object **out,
	      struct error *err)
{
	(void)in;
	*out = NULL;
	/* No principal: a scrape without a token, allowed on loopback only
	 * (routes.c); a token sees what svc_authorize lets it. */
	r->text = svc_metrics(r->svc, r->authenticated ? &r->principal : NULL);
	if (r->text == NULL)
		return error_set(err, "metrics: the service could not produce them");
	r->text_type = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}
