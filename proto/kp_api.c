/*
 * kp_api — see kp_api.h. Every table here is generated from KP_API_LIST, KP_API_KNOWN_LIST
 * and KP_ERR_LIST; nothing about an API or an error code is written in this file.
 */
#include "kp_api.h"

static const struct kp_api_range advertised[] = {
#define ADV(id, key, name, amin, amax, cmin, cmax, flex, stem) {KP_API_##id, amin, amax},
    KP_API_LIST(ADV)
#undef ADV
};

static const struct kp_api_range codecs[] = {
#define CODEC(id, key, name, amin, amax, cmin, cmax, flex, stem) {KP_API_##id, cmin, cmax},
    KP_API_LIST(CODEC)
#undef CODEC
};

#define N_SPOKEN (sizeof(advertised) / sizeof(advertised[0]))

/* Rows are sorted by key, and a codec range is a real range: checked when the table is built. */
#define CHECK(id, key, name, amin, amax, cmin, cmax, flex, stem)                                   \
    _Static_assert(amin <= amax && cmin <= cmax && amin >= 0 && cmin >= 0,                         \
                   "KP_API_LIST: " name ": bad version range");
KP_API_LIST(CHECK)
#undef CHECK

const struct kp_api_range *kp_api_advertised(size_t *n)
{
    *n = N_SPOKEN;
    return advertised;
}

static const struct kp_api_range *find_in(const struct kp_api_range *t, int16_t api_key)
{
    for (size_t i = 0; i < N_SPOKEN; i++)
        if (t[i].api_key == api_key)
            return &t[i];
    return NULL;
}

const struct kp_api_range *kp_api_find(int16_t api_key) { return find_in(advertised, api_key); }

const struct kp_api_range *kp_api_codec(int16_t api_key) { return find_in(codecs, api_key); }

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
#define INFO(id, key, name, amin, amax, cmin, cmax, flex, stem) {KP_API_##id, flex, name},
#define KNOWN(id, key, name, flex)                              {KP_API_##id, flex, name},
    KP_API_LIST(INFO) KP_API_KNOWN_LIST(KNOWN)
#undef INFO
#undef KNOWN
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
