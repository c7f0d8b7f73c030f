/*
 * schema-dump — prints proto's message tables (proto/kp_schema.h) as JSON, for
 * scripts/check-schemas.sh to compare with Kafka's own message schemas. Not part of any build:
 * the script compiles it against proto's sources on the fly.
 */
#include <inttypes.h>
#include <stdio.h>

#include "kp_schema.h"

static const char *type_name(const struct kp__field *f)
{
    switch (f->type) {
    case KP__T_BOOL:
        return "bool";
    case KP__T_I8:
        return "int8";
    case KP__T_I16:
        return "int16";
    case KP__T_I32:
        return "int32";
    case KP__T_I64:
        return "int64";
    case KP__T_UUID:
        return "uuid";
    case KP__T_STR:
        return "string";
    case KP__T_BYTES:
        return "bytes";
    case KP__T_RECORDS:
        return "records";
    case KP__T_STRUCT:
        return "struct";
    case KP__T_PSTRUCT:
        return "pstruct";
    case KP__T_ARRAY:
        return "[]struct";
    case KP__T_I32S:
        return "[]int32";
    case KP__T_STRS:
        return "[]string";
    case KP__T_CUSTOM:
        return "custom";
    }
    return "?";
}

static void dump_struct(const struct kp__struct *s);

static void dump_field(const struct kp__field *f)
{
    printf("{\"name\":\"%s\",\"type\":\"%s\",\"lo\":%d,\"hi\":%d,", f->name, type_name(f), f->lo,
           f->hi);
    if (f->nullable)
        printf("\"nlo\":%d,\"nhi\":%d,", f->nlo, f->nhi);
    if (f->tagged)
        printf("\"tag\":%u,", f->tag);
    printf("\"def\":%" PRId64 ",\"def_null\":%s,\"null_empty\":%s", f->def,
           f->def_null ? "true" : "false", f->null_empty ? "true" : "false");
    if (f->sub) {
        printf(",\"fields\":");
        dump_struct(f->sub);
    }
    printf("}");
}

static void dump_struct(const struct kp__struct *s)
{
    printf("[");
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            printf(",");
        dump_field(&s->f[i]);
    }
    printf("]");
}

int main(void)
{
    printf("[\n");
    for (size_t i = 0; kp__api_at(i); i++) {
        const struct kp__api *a = kp__api_at(i);
        if (!a->req)
            continue; /* hand-written (kp_msg_sec.c) */
        printf("%s{\"key\":%d,\"name\":\"%s\",\"min\":%d,\"max\":%d,\"flex\":%d,\"req\":",
               i ? "," : "", a->info->api_key, a->info->name, a->info->min_version,
               a->info->max_version, a->info->first_flexible);
        dump_struct(a->req);
        printf(",\"resp\":");
        dump_struct(a->resp);
        printf("}\n");
    }
    printf("]\n");
    return 0;
}
