/* Destroying a protection unit (docs/privacy.md 5): crypto-shredding. */
#include <json-c/json.h>

#include "lib/error.h"
#include "service/internal.h"

int svc_unit_destroy_now(struct service *s, const char *tenant, const char *unit_id,
			 struct json_object **record, struct error *err)
{
	(void)s;
	(void)tenant;
	if (record)
		*record = NULL;
	return error_setk(err, ERROR_FAIL, "destroying unit %s: not implemented yet", unit_id);
}
