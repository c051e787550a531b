/*
 * rest_keys_update.c - PATCH /v1/keys/{id}: name, aliases, tags.
 *
 * A key's names are its KMIP Name instances (1.4 3.2): "name" the one with
 * the lowest Attribute Index, "aliases" the others. Tags are the custom
 * attributes "x-tag-<key>" (Text String). Every change is a core attribute
 * edit (core_attr_add / modify / delete / set, authorized as
 * CORE_ACT_MODIFY), so KMIP's rules hold: names unique among the tenant's
 * live objects (2.1 4.32; 409 non_unique_name), no edits of a destroyed
 * object, "y-" names refused.
 *
 * The request is checked whole before the first edit; the edits are then
 * applied one by one, each its own revision-checked write, in an order that
 * keeps the first Name the name: removed aliases first (so a name may move
 * from alias to name), then the name, then new aliases, then a removed
 * name (only when no alias stays: an alias would silently become the name),
 * then tags. A failure part-way (a name taken by a concurrent writer)
 * leaves the edits before it applied: the reply is the error, and the
 * client reads the key to see where it stands.
 */
#include <string.h>

#include "rest/rest_keys_int.h"
#include "util/log.h"

struct patch {
    const core_object *obj;
    rest_name_inst *cur;      /* current names, index order */
    size_t n_cur;
    bool set_name, drop_name; /* "name": a string / null */
    const char *name;
    bool set_aliases;
    const char **aliases;     /* the new set */
    size_t n_aliases;
    json_t *tags;             /* {k: string|null} or NULL */
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static bool read_aliases(rest_call *c, json_t *arr, struct patch *p)
{
    size_t i;
    json_t *v;

    if (json_array_size(arr) > REST_ALIASES_MAX)
        return rest_bad_field(c, "field \"aliases\": at most %d aliases", REST_ALIASES_MAX);
    p->aliases = cf_arena_calloc(c->env->arena, (json_array_size(arr) + 1) * sizeof *p->aliases);
    if (p->aliases == NULL)
        return rest_nomem(c);
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (s == NULL)
            return rest_bad_field(c, "field \"aliases\" must be an array of strings");
        if (!rest_name_check(c, "aliases", s))
            return false;
        if (in_list(p->aliases, p->n_aliases, s))
            return rest_bad_field(c, "field \"aliases\": \"%.64s\" is given twice", s);
        p->aliases[p->n_aliases++] = s;
    }
    p->set_aliases = true;
    return true;
}

/* The names the key will have: checked together. */
static bool check_names(rest_call *c, struct patch *p)
{
    const char *name = p->set_name                     ? p->name
                       : p->drop_name || p->n_cur == 0 ? NULL
                                                       : p->cur[0].value;
    size_t n_aliases = p->set_aliases ? p->n_aliases : (p->n_cur ? p->n_cur - 1 : 0);

    if (!p->set_aliases) { /* the current aliases stay */
        p->aliases = cf_arena_calloc(c->env->arena, (n_aliases + 1) * sizeof *p->aliases);
        if (p->aliases == NULL)
            return rest_nomem(c);
        for (size_t i = 0; i < n_aliases; i++)
            p->aliases[i] = p->cur[i + 1].value;
        p->n_aliases = n_aliases;
    }
    if (name == NULL && p->n_aliases > 0)
        return rest_bad_field(c, "a key with aliases needs a name (aliases are the names after "
                                 "the first)");
    if (name != NULL && in_list(p->aliases, p->n_aliases, name))
        return rest_bad_field(c, "field \"aliases\": \"%.64s\" is the key's name", name);
    return true;
}

/* At most REST_TAGS_MAX tags once the patch is applied. */
static bool check_tag_count(rest_call *c, const struct patch *p)
{
    /* The key's tags now, as the Key JSON reads them (distinct keys). */
    json_t *now = rest_key_json(c, (core_object *)p->obj), *v;
    json_t *tags = now ? json_object_get(now, "tags") : NULL;
    size_t count = tags ? json_object_size(tags) : 0;
    const char *k;

    if (now == NULL)
        return rest_nomem(c);
    json_object_foreach(p->tags, k, v) {
        bool exists = json_object_get(tags, k) != NULL;
        if (json_is_null(v) && exists)
            count--;
        else if (!json_is_null(v) && !exists)
            count++;
    }
    json_decref(now);
    if (count > REST_TAGS_MAX)
        return rest_bad_field(c, "field \"tags\": a key has at most %d tags", REST_TAGS_MAX);
    return true;
}

static bool read_patch(rest_call *c, json_t *body, struct patch *p)
{
    json_t *name = json_object_get(body, "name"), *aliases = NULL;

    if (json_object_size(body) == 0) {
        rest_reply_error(c->req, 400, "missing_data", "give name, aliases or tags");
        return false;
    }
    if (name != NULL && !json_is_null(name) && !json_is_string(name))
        return rest_bad_field(c, "field \"name\" must be a string or null");
    p->drop_name = json_is_null(name);
    p->set_name = json_is_string(name);
    p->name = json_string_value(name);
    if (p->set_name && !rest_name_check(c, "name", p->name))
        return false;
    if (!rest_get_array(c, body, "aliases", &aliases) ||
        (aliases && !read_aliases(c, aliases, p)))
        return false;
    p->tags = json_object_get(body, "tags");
    if (p->tags && (!rest_tags_check(c, p->tags, true) || !check_tag_count(c, p)))
        return false;
    if (!rest_key_names(c->env->arena, p->obj, &p->cur, &p->n_cur))
        return rest_nomem(c);
    return check_names(c, p);
}

/* ------------------------------------------------------------ the edits */
static cf_status name_delete(rest_call *c, const char *uid, int32_t index)
{
    core_attr_target t = {.name = "Name", .index = index, .by_index = true};
    return core_attr_delete(&c->creq, uid, &t, NULL);
}

static cf_status name_add(rest_call *c, const char *uid, const char *name)
{
    ttlv_item *v = rest_name_struct(c->env->arena, name);
    int32_t index;
    return v ? core_attr_add(&c->creq, uid, "Name", v, &index) : CF_ERR_NOMEM;
}

static cf_status apply_names(rest_call *c, const struct patch *p)
{
    const char *uid = p->obj->uid;
    ttlv_item *v;
    int32_t index;
    cf_status st = CF_OK;

    for (size_t i = 1; i < p->n_cur && st == CF_OK; i++) /* aliases that go */
        if (!in_list(p->aliases, p->n_aliases, p->cur[i].value))
            st = name_delete(c, uid, p->cur[i].index);
    if (st == CF_OK && p->set_name && p->n_cur == 0)
        st = name_add(c, uid, p->name);
    if (st == CF_OK && p->set_name && p->n_cur > 0 && strcmp(p->cur[0].value, p->name) != 0) {
        core_attr_target t = {.name = "Name", .index = p->cur[0].index, .by_index = true};
        if ((v = rest_name_struct(c->env->arena, p->name)) == NULL)
            return CF_ERR_NOMEM;
        st = core_attr_modify(&c->creq, uid, &t, v, &index);
    }
    for (size_t i = 0; i < p->n_aliases && st == CF_OK; i++) { /* aliases that come */
        bool had = false;
        for (size_t k = 1; k < p->n_cur && !had; k++)
            had = strcmp(p->cur[k].value, p->aliases[i]) == 0;
        if (!had)
            st = name_add(c, uid, p->aliases[i]);
    }
    if (st == CF_OK && p->drop_name && p->n_cur > 0)
        st = name_delete(c, uid, p->cur[0].index);
    return st;
}

static cf_status apply_tags(rest_call *c, const struct patch *p)
{
    cf_arena *a = c->env->arena;
    const char *k;
    json_t *v;
    cf_status st = CF_OK;

    json_object_foreach(p->tags, k, v) {
        const char *name = rest_tag_attr_name(a, k);
        if (name == NULL)
            return CF_ERR_NOMEM;
        if (json_is_null(v)) {
            core_attr_target t = {.name = name}; /* every instance */
            st = core_attr_delete(&c->creq, p->obj->uid, &t, NULL);
            if (st == CF_ERR_ATTR_NOT_FOUND) { /* removing an absent tag: done */
                st = CF_OK;
                c->creq.err_msg = NULL;
            }
        } else {
            ttlv_item *tv = ttlv_new_text(a, KMIP_TAG_ATTRIBUTE_VALUE, json_string_value(v),
                                          json_string_length(v));
            st = tv ? core_attr_set(&c->creq, p->obj->uid, name, tv) : CF_ERR_NOMEM;
        }
        if (st != CF_OK)
            return st;
    }
    return CF_OK;
}

void rest_keys_update(rest_call *c)
{
    static const char *const fields[] = {"name", "aliases", "tags", NULL};
    struct patch p = {0};
    json_t *body = NULL;
    core_object *obj;
    cf_status st;

    if (!rest_body(c, fields, false, &body))
        return;
    /* The right first (core's rule), so that a Reader is refused even a
     * patch that would change nothing. */
    if (!rest_key_load(c, c->params[0], &obj))
        goto out;
    if ((st = core_req_authorize(&c->creq, CORE_ACT_MODIFY, obj)) != CF_OK) {
        rest_reply_status(c, st);
        goto out;
    }
    p.obj = obj;
    if (!read_patch(c, body, &p))
        goto out;
    if ((st = apply_names(c, &p)) != CF_OK || (p.tags && (st = apply_tags(c, &p)) != CF_OK)) {
        rest_reply_status(c, st);
        goto out;
    }
    CF_LOGI("rest update %s by %s", obj->uid, c->creq.who->id);
    rest_key_reply(c, obj->uid, 200);
out:
    json_decref(body);
}
