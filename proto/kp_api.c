/*
 * kp_api — see kp_api.h. Every table here is generated from KP_API_LIST and KP_ERR_LIST;
 * nothing about an API or an error code is written in this file.
 */
#include "kp_api.h"

static const struct kp_api_range advertised[] = {
#define ADV(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                               \
    KP_API_IF_ADVERTISED(role, {KP_API_##id, amin, amax}, )
    KP_API_LIST(ADV)
#undef ADV
};

#define N_ADVERTISED (sizeof(advertised) / sizeof(advertised[0]))

/* A row's ranges are real ranges, and a served row is advertised: checked when this builds. */
#define CHECK(id, key, name, role, amin, amax, cmin, cmax, flex, stem)                             \
    _Static_assert(cmin >= 0 && cmin <= cmax, "KP_API_LIST: " name ": bad codec range");           \
    KP_API_IF_ADVERTISED(role, _Static_assert(amin >= 0 && amin <= amax,                           \
                                              "KP_API_LIST: " name ": bad advertised range");)
KP_API_LIST(CHECK)
#undef CHECK

const struct kp_api_range *kp_api_advertised(size_t *n)
{
    *n = N_ADVERTISED;
    return advertised;
}

const struct kp_api_range *kp_api_find(int16_t api_key)
{
    for (size_t i = 0; i < N_ADVERTISED; i++)
        if (advertised[i].api_key == api_key)
            return &advertised[i];
    return NULL;
}

bool kp_api_supported(int16_t api_key, int16_t version)
{
    const struct kp_api_range *r = kp_api_find(api_key);
    return r && version >= r->min_version && version <= r->max_version;
}

/* Kafka's name and first flexible version of every key in enum kp_api_key. */
struct api_info {
    int16_t api_key;
    int16_t first_flexible;
    const char *name;
};

static const struct api_info infos[] = {
#define INFO(id, key, name, role, amin, amax, cmin, cmax, flex, stem) {KP_API_##id, flex, name},
    KP_API_LIST(INFO)
#undef INFO
};

static const struct api_info *api_info(int16_t api_key)
{
    for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
        if (infos[i].api_key == api_key)
            return &infos[i];
    return NULL;
}

const char *kp_api_name(int16_t api_key)
{
    const struct api_info *i = api_info(api_key);
    return i ? i->name : "Unknown";
}

bool kp_api_flexible(int16_t api_key, int16_t version)
{
    const struct api_info *i = api_info(api_key);
    return i && version >= i->first_flexible;
}

int kp_api_req_hdr_version(int16_t api_key, int16_t version)
{
    return kp_api_flexible(api_key, version) ? 2 : 1;
}

int kp_api_resp_hdr_version(int16_t api_key, int16_t version)
{
    /* ApiVersions answers with header v0 at every version, so that a client that does not
     * yet know the broker's versions can always read the correlation id. */
    if (api_key == KP_API_API_VERSIONS)
        return 0;
    return kp_api_flexible(api_key, version) ? 1 : 0;
}

const char *kp_err_name(int16_t code)
{
    switch ((enum kp_err)code) {
#define NAME(name, code)                                                                           \
    case KP_ERR_##name:                                                                            \
        return #name;
        KP_ERR_LIST(NAME)
#undef NAME
    }
    return "UNKNOWN";
}
