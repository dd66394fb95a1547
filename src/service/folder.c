/* Where a tenant's folders may be (docs/service.md "Policies"): the check
 * on the path of a folder unit or a subfolders rule, and the folder the
 * jobs of a tenant's folder units are confined to. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "lib/error.h"
#include "lib/mem.h"
#include "service/core.h"
#include "service/internal.h"
#include "service/service.h"

/* Whether `path` is `dir` or inside it (both without a trailing '/'). */
static int path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/' ||
					     (n == 1 && dir[0] == '/'));
}

/* An absolute path with no empty, "." or ".." component and no trailing
 * '/', so that comparing paths as strings compares places. */
static int path_plain(const char *path)
{
	const char *c = path;

	if (path[0] != '/' || path[1] == '\0' || strlen(path) > 4000)
		return 0;
	while (*c == '/') {
		const char *e = strchr(c + 1, '/');
		size_t n = e ? (size_t)(e - c - 1) : strlen(c + 1);

		if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return 0;
		c += n + 1;
	}
	return 1;
}

/* "FOLDER_ROOT/<name>", with FOLDER_ROOT as configured ("/srv/homes/" is
 * "/srv/homes"); the caller frees. */
static char *tenant_folder_root(const char *folder_root, const char *name)
{
	size_t n = strlen(folder_root);

	while (n > 1 && folder_root[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, folder_root, name);
}

/* Jobs open nothing below the tenant's folder root through a symbolic
 * link, whenever it was planted (docs/engine.md "Confinement"), so a path
 * that goes through one now would only fail: it is refused at once. (Only
 * advice: what the jobs do is the guarantee.) */
static int folder_link_below(const char *root, const char *path, const char *what,
			     struct error *err)
{
	size_t n = strlen(root);
	char *p = xstrdup(path);
	struct stat st;
	int ret = 0;

	for (size_t i = n + 1; ret == 0 && i <= strlen(path); i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		p[i] = '\0';
		if (lstat(p, &st) < 0)
			break; /* not there yet */
		if (S_ISLNK(st.st_mode))
			ret = error_setk(err, ERROR_USAGE, "%s: '%s' goes through '%s', a symbolic "
					 "link; coffer follows no link below %s/", what, path, p,
					 root);
		p[i] = path[i];
	}
	free(p);
	return ret;
}

int svc_check_folder_place(struct service *s, const char *tenant, const char *what,
			   const char *path, int unit, struct error *err)
{
	const struct svc_config *cfg = svc_cfg(s);
	char *data = realpath(cfg->data_dir, NULL), *real = realpath(path, NULL);
	char *froot = cfg->folder_root ? realpath(cfg->folder_root, NULL) : NULL;
	/* The path as given against the root as configured, and the path with
	 * links resolved against the resolved root. */
	char *roots[2] = { NULL, NULL };
	const char *places[2] = { path, real };
	struct catalog_tenant *t = NULL;
	int ret = -1;

	if (!path_plain(path)) {
		error_setk(err, ERROR_USAGE, "%s: '%s' must be an absolute path without '.', '..' "
			   "or empty parts", what, path);
		goto out;
	}
	if (cfg->folder_root) {
		if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
			goto out;
		roots[0] = tenant_folder_root(cfg->folder_root, t->name);
		roots[1] = xasprintf("%s/%s", froot ? froot : cfg->folder_root, t->name);
	}
	for (int i = 0; i < 2; i++) {
		const char *p = places[i], *root = roots[i];

		if (p == NULL)
			continue;
		if (data && (path_within(p, data) || path_within(data, p))) {
			error_setk(err, ERROR_USAGE, "%s: '%s' holds or is inside the service's data "
				   "folder", what, path);
			goto out;
		}
		if (root && (!path_within(p, root) || (unit && strcmp(p, root) == 0))) {
			error_setk(err, ERROR_USAGE, "%s: '%s' is not inside this tenant's folder "
				   "root %s/", what, path, roots[0]);
			goto out;
		}
	}
	if (roots[0] && folder_link_below(roots[0], path, what, err) < 0)
		goto out;
	ret = 0;
out:
	catalog_tenant_free(&t);
	free(roots[0]);
	free(roots[1]);
	free(froot);
	free(real);
	free(data);
	return ret;
}

/* What svc_check_folder_place() checked when the unit was made is enforced
 * when it is used: the jobs confine every open to this folder. */
int svc_folder_beneath(struct service *s, const char *tenant, char **beneath_r,
		       struct error *err)
{
	const char *folder_root = svc_cfg(s)->folder_root;
	struct catalog_tenant *t = NULL;

	*beneath_r = NULL;
	if (folder_root == NULL)
		return 0;
	if (catalog_tenant_get(svc_catalog(s), tenant, &t, err) < 0)
		return -1;
	*beneath_r = tenant_folder_root(folder_root, t->name);
	catalog_tenant_free(&t);
	return 0;
}
