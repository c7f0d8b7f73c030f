/*
 * sl_murmur2.c — the Java client's default partitioner for keyed records.
 *
 * org.apache.kafka.common.utils.Utils.murmur2: MurmurHash2, seed 0x9747b28c, the input read
 * as little-endian 4-byte words, the 1-3 trailing bytes folded in as Java's switch falls
 * through. The partition is toPositive(hash) % n, toPositive being hash & 0x7fffffff (not
 * abs), so keys land on the same partitions as with the Java client and librdkafka's
 * murmur2_random partitioner.
 *
 * Also FNV-1a as librdkafka's fnv1a partitioner computes it (32-bit FNV-1a, then the absolute
 * value of the result read as an int32, for Sarama's NewHashPartitioner); its consistent
 * partitioners use zlib's CRC-32 (sl_producer.c).
 */
#include "sl_int.h"

uint32_t sl_murmur2(const void *key, size_t len)
{
    const uint8_t *data = key;
    const uint32_t m = 0x5bd1e995;
    const int r = 24;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t n4 = len / 4;

    for (size_t i = 0; i < n4; i++) {
        const uint8_t *p = data + i * 4;
        uint32_t k =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const uint8_t *tail = data + n4 * 4;
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        h ^= tail[0];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t sl_partition_for_key(const void *key, size_t len, int32_t partition_cnt)
{
    if (partition_cnt <= 0)
        return -1;
    return (int32_t)((sl_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partition_cnt);
}

uint32_t sl__fnv1a(const void *key, size_t len)
{
    const uint8_t *data = key;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++) {
        h ^= data[i];
        h *= 0x01000193u;
    }
    int32_t v = (int32_t)h;
    return v < 0 ? (uint32_t)(-(int64_t)v) : (uint32_t)v;
}
