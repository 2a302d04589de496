/* records.c: the manager's records and their lists; see records.h. Out of
 * memory is fatal here (abort), as nothing above could do better. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "core/log.h"
#include "core/sshkey.h"
#include "core/text.h"
#include "manager/records.h"

void *
mgr_grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	v = xreallocarray(v, ncap, size);
	*cap = ncap;
	return v;
}

int
mgr_key_check_owner(const char *entity_id, const char *entity, char *err,
    size_t errlen)
{
	if (!text_valid_entity_id(entity_id)) {
		snprintf(err, errlen, "entity id is not valid");
		return -1;
	}
	if (!text_valid_entity_name(entity)) {
		snprintf(err, errlen, "entity name is not valid");
		return -1;
	}
	return 0;
}

int
mgr_key_check(const char *entity_id, const char *entity, const char *type,
    const char *blob, char *err, size_t errlen)
{
	if (mgr_key_check_owner(entity_id, entity, err, errlen) != 0)
		return -1;
	return sshkey_check(type, blob, err, errlen);
}

static void
key_copy(struct mgr_key_list *l, const char *entity_id, const char *entity,
    const char *type, const char *blob)
{
	struct mgr_key *k;

	l->v = mgr_grow(l->v, &l->cap, l->n, sizeof(*l->v));
	k = &l->v[l->n++];
	k->entity_id = xstrdup(entity_id);
	k->entity = xstrdup(entity);
	k->type = xstrdup(type);
	k->blob = xstrdup(blob);
}

int
mgr_key_list_add(struct mgr_key_list *l, const char *entity_id,
    const char *entity, const char *type, const char *blob, char *err,
    size_t errlen)
{
	if (mgr_key_check(entity_id, entity, type, blob, err, errlen) != 0)
		return -1;
	key_copy(l, entity_id, entity, type, blob);
	return 0;
}

static void
key_free(struct mgr_key *k)
{
	free(k->entity_id);
	free(k->entity);
	free(k->type);
	free(k->blob);
}

void
mgr_key_list_free(struct mgr_key_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		key_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
list_sink_add(void *ctx, const struct mgr_key *k, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	key_copy(ctx, k->entity_id, k->entity, k->type, k->blob);
	return 0;
}

struct mgr_key_sink
mgr_key_list_sink(struct mgr_key_list *l)
{
	struct mgr_key_sink s = { list_sink_add, l };

	return s;
}

void
mgr_keys_filter(struct mgr_key_list *list, const char *type,
    const char *blob, struct mgr_key_list *out)
{
	size_t i;

	for (i = 0; i < list->n; i++) {
		struct mgr_key *k = &list->v[i];

		if (blob != NULL && (strcmp(k->blob, blob) != 0 ||
		    (type != NULL && strcmp(k->type, type) != 0))) {
			key_free(k);
			continue;
		}
		out->v = mgr_grow(out->v, &out->cap, out->n, sizeof(*out->v));
		out->v[out->n++] = *k;
	}
	free(list->v);
	memset(list, 0, sizeof(*list));
}

static int
key_cmp(const void *a, const void *b)
{
	const struct mgr_key *x = a, *y = b;
	int c;

	if ((c = strcmp(x->blob, y->blob)) != 0)
		return c;
	if ((c = strcmp(x->type, y->type)) != 0)
		return c;
	return strcmp(x->entity_id, y->entity_id);
}

/* Logs the claimants v[0..n) of one key: the type and the blob's tail
 * name the key without filling the log with it. */
static void
log_shared(const struct mgr_key *v, size_t n)
{
	char who[1024];
	size_t i, len = 0, bl = strlen(v[0].blob);

	who[0] = '\0';
	for (i = 0; i < n && len < sizeof(who); i++) {
		if (i > 0 && !strcmp(v[i].entity_id, v[i - 1].entity_id))
			continue;
		len += (size_t)snprintf(who + len, sizeof(who) - len, "%s%s (%s)",
		    len > 0 ? ", " : "", v[i].entity_id, v[i].entity);
	}
	log_error("key %s ...%s is claimed by several entities: %s; refused "
	    "for all of them (each must use a key of their own)", v[0].type,
	    bl > 16 ? v[0].blob + bl - 16 : v[0].blob, who);
}

size_t
mgr_keys_refuse_shared(struct mgr_key_list *l)
{
	size_t i, j, k, o = 0, refused = 0;

	if (l->n < 2)
		return 0;
	qsort(l->v, l->n, sizeof(*l->v), key_cmp);
	for (i = 0; i < l->n; i = j) {
		bool shared = false;

		for (j = i + 1; j < l->n && !strcmp(l->v[j].blob, l->v[i].blob);
		    j++)
			if (strcmp(l->v[j].entity_id, l->v[i].entity_id) != 0)
				shared = true;
		if (shared) {
			log_shared(&l->v[i], j - i);
			refused++;
			for (k = i; k < j; k++)
				key_free(&l->v[k]);
			continue;
		}
		/* one entity, maybe listed more than once (several types
		 * never share a blob: the type is inside it) */
		l->v[o++] = l->v[i];
		for (k = i + 1; k < j; k++)
			key_free(&l->v[k]);
	}
	l->n = o;
	return refused;
}

int
mgr_console_list_add(struct mgr_console_list *l, const char *vm_id,
    const char *vm_name, const char *host, const char *console, char *err,
    size_t errlen)
{
	struct mgr_console *c;

	if (!text_valid_entity_id(vm_id)) {
		snprintf(err, errlen, "VM id is not valid");
		return -1;
	}
	if (!text_valid_vm_name(vm_name)) {
		snprintf(err, errlen, "VM name is not valid");
		return -1;
	}
	if (!text_valid_host(host)) {
		snprintf(err, errlen, "host is not a host name or address");
		return -1;
	}
	if (!text_valid_console(console)) {
		snprintf(err, errlen, "console is not a plain file name");
		return -1;
	}
	l->v = mgr_grow(l->v, &l->cap, l->n, sizeof(*l->v));
	c = &l->v[l->n++];
	c->vm_id = xstrdup(vm_id);
	c->vm_name = xstrdup(vm_name);
	c->host = xstrdup(host);
	c->console = xstrdup(console);
	return 0;
}

static int
console_cmp(const void *a, const void *b)
{
	const struct mgr_console *x = a, *y = b;
	int c;

	if ((c = strcmp(x->vm_name, y->vm_name)) != 0)
		return c;
	if ((c = strcmp(x->vm_id, y->vm_id)) != 0)
		return c;
	if ((c = strcmp(x->host, y->host)) != 0)
		return c;
	return strcmp(x->console, y->console);
}

static void
console_free(struct mgr_console *c)
{
	free(c->vm_id);
	free(c->vm_name);
	free(c->host);
	free(c->console);
}

void
mgr_console_list_sort(struct mgr_console_list *l)
{
	size_t i, o;

	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), console_cmp);
	/* a console granted twice (to the entity and to everyone) once */
	for (i = 1, o = 1; i < l->n; i++) {
		if (console_cmp(&l->v[i], &l->v[o - 1]) == 0)
			console_free(&l->v[i]);
		else
			l->v[o++] = l->v[i];
	}
	l->n = o;
}

void
mgr_console_list_free(struct mgr_console_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		console_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
