/* The table of sources: the one place that maps a source JSON's "type" to
 * its implementation. Adding a source is a new file and two lines here. */

#include <stddef.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/error.h"
#include "lib/jsonutil.h"
#include "sources/source.h"

/* Defined by each source's file. */
extern const struct source_ops source_folder_ops;
extern const struct source_ops source_imap_ops;
extern const struct source_ops source_webdav_ops;

static const struct source_ops *const sources[] = {
	&source_folder_ops,
	&source_imap_ops,
	&source_webdav_ops,
};

const struct source_ops *source_find(const struct json_object *source, struct error *err)
{
	const char *name;
	size_t i;

	if (source == NULL || !json_object_is_type(source, json_type_object))
		return error_setk(err, ERROR_USAGE, "source: not a JSON object"), NULL;
	name = jsonu_str(source, "type");
	if (name == NULL)
		return error_setk(err, ERROR_USAGE, "source: \"type\" (a string) is missing"), NULL;
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i]->type, name) == 0)
			return sources[i];
	error_setk(err, ERROR_USAGE, "source: unknown type \"%s\"", name);
	return NULL;
}
