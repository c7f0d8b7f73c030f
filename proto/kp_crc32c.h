/*
 * kp_crc32c — CRC-32C (Castagnoli), the checksum of RecordBatch v2.
 *
 * Contract: pure, thread-safe. The implementation (SSE4.2 crc32 instruction, or a portable
 * slicing table) is chosen once at first use by a CPU probe, not at compile time.
 * kp_crc32c(0, "123456789", 9) == 0xE3069283.
 */
#ifndef SPLICELOG_KP_CRC32C_H
#define SPLICELOG_KP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over n bytes; returns the finished CRC of everything so far. */
uint32_t kp_crc32c(uint32_t crc, const void *buf, size_t n);
/* The portable path, always; for tests that compare both implementations. */
uint32_t kp_crc32c_sw(uint32_t crc, const void *buf, size_t n);
/* "sse4.2" or "table": which implementation kp_crc32c() uses on this CPU. */
const char *kp_crc32c_impl(void);

#endif
