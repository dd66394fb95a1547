#ifndef COFFER_SERVICE_OFFBOARD_H
#define COFFER_SERVICE_OFFBOARD_H

/* A unit whose source is gone, a tenant's legal hold, tenant offboarding
 * and the service's deletion certificates (service/offboard.c,
 * service/certificate.c; docs/privacy.md 6, 7, 8): what the rest of the
 * service calls. Nothing outside src/service includes it. */

#include <stdint.h>

struct catalog_tenant;
struct catalog_unit;
struct error;
struct json_object;
struct service;

/* 0 if the tenant takes changes (units, policies, backups); -1 with
 * ERROR_CONFLICT (HTTP 409) saying it is being offboarded and until when,
 * `what` naming what was refused ("create a unit"). */
int svc_tenant_writable(struct service *s, const char *tenant, const char *what,
			struct error *err);
/* 1 if new restore points of the tenant's units are taken (not
 * offboarding), else 0 (also when the tenant cannot be read). */
int svc_tenant_takes_points(const struct catalog_tenant *t);
/* Why unit u is held: its own legal hold or its tenant's ("tenant: ..."),
 * as a new string the caller frees; NULL if neither. */
char *svc_unit_hold_reason(struct service *s, const struct catalog_unit *u);
/* A backup of the unit found its source gone (gone 1: the source answered
 * "not found") or there (0): sets or clears units.source_gone_since and
 * audits "unit.sourceGone" / "unit.sourceBack" on a change. */
void svc_unit_source_seen(struct service *s, const char *tenant, const char *unit, int gone);
/* The scheduler's step for one tenant at `now` (one node): an offboarding
 * past its due date, and under no legal hold, is carried out: units
 * destroyed (keys first), the store's objects deleted as locks allow (what
 * is locked is tried again later), the catalog rows purged, a certificate
 * signed and kept. */
void svc_offboard_tick(struct service *s, const struct catalog_tenant *t, int64_t now);

/* PATCH /v1/tenants/{t}'s privacy settings (in: "offboardGraceDays",
 * "destroyDelayDays", "erasureFourEyes", each optional): checked, written
 * for tenant t, and added to the audit detail. ERROR_USAGE naming a bad
 * field; ERROR_CONFLICT for a grace period changed during offboarding. */
int svc_tenant_privacy_update(struct service *s, const struct catalog_tenant *t,
			      struct json_object *in, struct json_object *detail,
			      struct error *err);

/* certificate.c: the service's Ed25519 key pair, derived from the service
 * key (the same on every node). */
void svc_certificate_keys(struct service *s, uint8_t pk[32], uint8_t sk[64]);
/* Signs `body` (adding format and publicKey), keeps it in the catalog as
 * certificate *id_r (caller frees) of tenant about subject. */
int svc_certificate_issue(struct service *s, const char *tenant, const char *subject,
			  struct json_object *body, char **id_r, struct error *err);
/* A certificate of one unit's destruction (kind "unitDestruction"):
 * record is what svc_unit_destroy_now() gave (its floating-point members
 * left out); subject the unit's id; *id_r the certificate's (caller
 * frees). Readable with GET T/deletionCertificates while the tenant
 * exists, and after. */
int svc_certificate_unit(struct service *s, const char *tenant, const char *unit,
			 struct json_object *record, char **id_r, struct error *err);

#endif
