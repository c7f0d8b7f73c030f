/*
 * kp_crc32c — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), see kp_crc32c.h.
 *
 * Two implementations compute the same function:
 * - "sse4.2": the crc32 instruction, 8 bytes per step, compiled for that target with a
 *   function attribute (the rest of the file stays baseline x86-64) and only ever called
 *   after the CPU probe said the instruction exists. The instruction has a latency of 3
 *   cycles but a throughput of 1 per cycle, so buffers of at least 3 * KP_CRC_BLOCK bytes are
 *   cut into three adjacent blocks whose CRCs run interleaved and are then combined:
 *   the CRC register is linear, so reg(A||B) = shift_|B|(reg(A)) ^ reg_from_0(B), where
 *   shift_L is "feed L zero bytes", a fixed linear map on 32 bits precomputed as four
 *   256-entry tables (crc_shift);
 * - "table": slicing-by-8, eight 256-entry tables built once under pthread_once.
 * The choice is made once, at the first call, by __builtin_cpu_supports(); everything after
 * that is a read of two values that pthread_once published.
 *
 * Both take and return the finished CRC (the ~ pre- and post-conditioning is inside), so
 * kp_crc32c(kp_crc32c(0, a, n), b, m) == kp_crc32c(0, a||b, n+m).
 */
#include "kp_crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define KP_CRC32C_POLY 0x82F63B78u

/* Bytes per stream in the three-way interleaved hardware loop (a multiple of 8). */
#define KP_CRC_BLOCK 1024

static uint32_t crc_table[8][256];
static uint32_t crc_shift[4][256]; /* crc_shift[k][b]: feed KP_CRC_BLOCK zeros to b << 8k */
static bool crc_use_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (KP_CRC32C_POLY & (0u - (c & 1)));
        crc_table[0][i] = c;
    }
    /* table[k][i]: the CRC of byte i followed by k zero bytes. */
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
    /* The shift map is linear: run each of the 32 register bits through the zeros once,
     * then every table entry is the XOR of the images of its set bits. */
    uint32_t bit_image[32];
    for (int j = 0; j < 32; j++) {
        uint32_t c = 1u << j;
        for (int i = 0; i < KP_CRC_BLOCK; i++)
            c = (c >> 8) ^ crc_table[0][c & 0xff];
        bit_image[j] = c;
    }
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t c = 0;
            for (int j = 0; j < 8; j++)
                if (b & (1u << j))
                    c ^= bit_image[8 * k + j];
            crc_shift[k][b] = c;
        }
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* The register after KP_CRC_BLOCK zero bytes, starting from reg. */
static inline uint32_t crc_shift_block(uint32_t reg)
{
    return crc_shift[0][reg & 0xff] ^ crc_shift[1][(reg >> 8) & 0xff] ^
           crc_shift[2][(reg >> 16) & 0xff] ^ crc_shift[3][reg >> 24];
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t n)
{
    /* Byte at a time up to 8-byte alignment, so the wide loads below are aligned. */
    while (n && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t w = load_le64(p) ^ crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        n--;
    }
    /* Three interleaved streams over adjacent blocks, combined by the shift map. */
    while (n >= 3 * KP_CRC_BLOCK) {
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        for (size_t i = 0; i < KP_CRC_BLOCK; i += 8) {
            c0 = _mm_crc32_u64(c0, load_le64(p + i));
            c1 = _mm_crc32_u64(c1, load_le64(p + KP_CRC_BLOCK + i));
            c2 = _mm_crc32_u64(c2, load_le64(p + 2 * KP_CRC_BLOCK + i));
        }
        crc = crc_shift_block((uint32_t)c0) ^ (uint32_t)c1;
        crc = crc_shift_block(crc) ^ (uint32_t)c2;
        p += 3 * KP_CRC_BLOCK;
        n -= 3 * KP_CRC_BLOCK;
    }
    uint64_t c = crc;
    while (n >= 8) {
        c = _mm_crc32_u64(c, load_le64(p));
        p += 8;
        n -= 8;
    }
    crc = (uint32_t)c;
    while (n--)
        crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

uint32_t kp_crc32c_sw(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, buf, n);
}

uint32_t kp_crc32c(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
    if (crc_use_hw)
        return ~crc_hw(~crc, buf, n);
#endif
    return ~crc_sw(~crc, buf, n);
}

const char *kp_crc32c_impl(void)
{
    pthread_once(&crc_once, crc_init);
    return crc_use_hw ? "sse4.2" : "table";
}
