/* The one table of strings of each state and kind the catalog's records
 * hold (catalog.h): what the catalog stores and the API shows. A table is
 * indexed by the enum's value; 0 is no value. */
#include <stddef.h>
#include <string.h>

#include "catalog/catalog.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int v)
{
	return v > 0 && (size_t)v < n ? names[v] : NULL;
}

static int value_of(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 1; name && i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return (int)i;
	return 0;
}

/* The table of enum `type` and its two look-ups, type_name() and
 * type_of(). */
#define NAMES(type, ...)                                                                \
	static const char *const type##_names[] = { __VA_ARGS__ };                      \
	const char *type##_name(enum type v)                                            \
	{                                                                               \
		return name_of(type##_names, COUNT(type##_names), (int)v);              \
	}                                                                               \
	enum type type##_of(const char *name)                                           \
	{                                                                               \
		return (enum type)value_of(type##_names, COUNT(type##_names), name);    \
	}

NAMES(catalog_tenant_state,
      [CATALOG_TENANT_ACTIVE] = "active",
      [CATALOG_TENANT_OFFBOARDING] = "offboarding")

NAMES(catalog_kind,
      [CATALOG_KIND_MAILBOX] = "mailbox",
      [CATALOG_KIND_ACCOUNT] = "account",
      [CATALOG_KIND_SITE] = "site")

NAMES(catalog_unit_state,
      [CATALOG_UNIT_UNPROTECTED] = "unprotected",
      [CATALOG_UNIT_ACTIVATING] = "activating",
      [CATALOG_UNIT_PROTECTED] = "protected",
      [CATALOG_UNIT_REMOVED] = "removed",
      [CATALOG_UNIT_DESTROYED] = "destroyed")

NAMES(catalog_policy_state,
      [CATALOG_POLICY_INACTIVE] = "inactive",
      [CATALOG_POLICY_ACTIVATING] = "activating",
      [CATALOG_POLICY_ACTIVE] = "active")

NAMES(catalog_job_kind,
      [CATALOG_JOB_BACKUP] = "backup",
      [CATALOG_JOB_EXPIRE] = "expire",
      [CATALOG_JOB_RESTORE] = "restore",
      [CATALOG_JOB_DESTROY] = "destroy",
      [CATALOG_JOB_DRILL] = "drill")

NAMES(catalog_job_state,
      [CATALOG_JOB_QUEUED] = "queued",
      [CATALOG_JOB_RUNNING] = "running",
      [CATALOG_JOB_SUCCEEDED] = "succeeded",
      [CATALOG_JOB_FAILED] = "failed")

NAMES(catalog_session_state,
      [CATALOG_SESSION_PENDING] = "pending",
      [CATALOG_SESSION_RUNNING] = "running",
      [CATALOG_SESSION_SUCCEEDED] = "succeeded",
      [CATALOG_SESSION_FAILED] = "failed")

NAMES(catalog_restore_mode,
      [CATALOG_MODE_IN_PLACE] = "in_place",
      [CATALOG_MODE_NEW_LOCATION] = "new_location",
      [CATALOG_MODE_GRANULAR] = "granular")
