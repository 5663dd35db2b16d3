// The vector kernels of KatoEngine: four character-LCS bit vectors advanced in the four 64-bit
// lanes of an AVX2 register (one gather of the match masks, four lane-wise ops per character), and
// eight in the lanes of an AVX-512 register (the masks looked up in registers, no gather), each
// compiled for its instruction set in its function only and chosen at run time, so the binary still
// runs on any x86-64 (and on other architectures the kernels are absent and the scalar Swift loop runs).
#include "CKatoSIMD.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

int kato_simd_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    // OSXSAVE and AVX, then XCR0 saving XMM and YMM state.
    if (!(c & (1u << 27)) || !(c & (1u << 28))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6u) != 6u) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) ? 1 : 0;
}

#define KATO_LCS_STEP(idx)                                                                   \
    do {                                                                                     \
        __m256i pm = _mm256_i64gather_epi64((const long long *)table, (idx), 8);             \
        __m256i u = _mm256_and_si256(v4, pm);                                                \
        v4 = _mm256_or_si256(_mm256_add_epi64(v4, u), _mm256_sub_epi64(v4, u));              \
    } while (0)

__attribute__((target("avx2")))
void kato_lcs4_avx2(const uint64_t *table, const uint8_t *a, const uint8_t *b, const uint8_t *c,
                    const uint8_t *d, size_t n, uint64_t v[4]) {
    __m256i v4 = _mm256_loadu_si256((const __m256i *)v);
    // Four characters of each text in one 16-byte register, transposed to [a_i b_i c_i d_i] per i.
    const __m128i transpose = _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t wa, wb, wc, wd;
        memcpy(&wa, a + i, 4);
        memcpy(&wb, b + i, 4);
        memcpy(&wc, c + i, 4);
        memcpy(&wd, d + i, 4);
        __m128i x = _mm_shuffle_epi8(_mm_setr_epi32((int)wa, (int)wb, (int)wc, (int)wd), transpose);
        KATO_LCS_STEP(_mm256_cvtepu8_epi64(x));
        KATO_LCS_STEP(_mm256_cvtepu8_epi64(_mm_srli_si128(x, 4)));
        KATO_LCS_STEP(_mm256_cvtepu8_epi64(_mm_srli_si128(x, 8)));
        KATO_LCS_STEP(_mm256_cvtepu8_epi64(_mm_srli_si128(x, 12)));
    }
    for (; i < n; i++) {
        KATO_LCS_STEP(_mm256_setr_epi64x(a[i], b[i], c[i], d[i]));
    }
    _mm256_storeu_si256((__m256i *)v, v4);
}

int kato_simd_has_avx512(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    // XMM, YMM, opmask, ZMM_Hi256 and Hi16_ZMM state saved by the OS.
    if ((lo & 0xE6u) != 0xE6u) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    // AVX512F (EBX 16), AVX512BW (EBX 30), AVX512_VBMI (ECX 1).
    return ((b & (1u << 16)) && (b & (1u << 30)) && (c & (1u << 1))) ? 1 : 0;
}

// One step of the eight LCS chains: `idx` holds in the low 4 bits of each lane the compressed index
// of that text's character (vpermt2q reads only those bits), `pm` its match mask.
#define KATO_LCS8_STEP(idx)                                                                  \
    do {                                                                                     \
        __m512i pm = _mm512_permutex2var_epi64(lo_masks, (idx), hi_masks);                   \
        __m512i u = _mm512_and_si512(v8, pm);                                                \
        v8 = _mm512_or_si512(_mm512_add_epi64(v8, u), _mm512_sub_epi64(v8, u));               \
    } while (0)

__attribute__((target("avx512f,avx512bw,avx512vbmi")))
void kato_lcs8_avx512(const uint8_t *charIndex, const uint64_t *masks, const uint8_t *const *texts, size_t n,
                      uint64_t v[8]) {
    // The 128-entry character → index table in two registers (vpermi2b: 7-bit byte indices), the
    // 16 masks in two more (vpermt2q): every lookup stays in registers, no gather.
    const __m512i lo_chars = _mm512_loadu_si512((const void *)charIndex);
    const __m512i hi_chars = _mm512_loadu_si512((const void *)(charIndex + 64));
    const __m512i lo_masks = _mm512_loadu_si512((const void *)masks);
    const __m512i hi_masks = _mm512_loadu_si512((const void *)(masks + 8));
    const uint8_t *t0 = texts[0], *t1 = texts[1], *t2 = texts[2], *t3 = texts[3];
    const uint8_t *t4 = texts[4], *t5 = texts[5], *t6 = texts[6], *t7 = texts[7];
    __m512i v8 = _mm512_loadu_si512((const void *)v);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w0, w1, w2, w3, w4, w5, w6, w7;
        memcpy(&w0, t0 + i, 8); memcpy(&w1, t1 + i, 8); memcpy(&w2, t2 + i, 8); memcpy(&w3, t3 + i, 8);
        memcpy(&w4, t4 + i, 8); memcpy(&w5, t5 + i, 8); memcpy(&w6, t6 + i, 8); memcpy(&w7, t7 + i, 8);
        // Lane j holds text j's next 8 characters; all 64 translated to indices at once.
        __m512i x = _mm512_set_epi64((long long)w7, (long long)w6, (long long)w5, (long long)w4,
                                     (long long)w3, (long long)w2, (long long)w1, (long long)w0);
        x = _mm512_permutex2var_epi8(lo_chars, x, hi_chars);
        KATO_LCS8_STEP(x);
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 8));
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 16));
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 24));
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 32));
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 40));
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 48));
        KATO_LCS8_STEP(_mm512_srli_epi64(x, 56));
    }
    for (; i < n; i++) {
        __m512i x = _mm512_set_epi64(t7[i], t6[i], t5[i], t4[i], t3[i], t2[i], t1[i], t0[i]);
        KATO_LCS8_STEP(_mm512_permutex2var_epi8(lo_chars, x, hi_chars));
    }
    _mm512_storeu_si512((void *)v, v8);
}

#else

int kato_simd_has_avx2(void) { return 0; }
int kato_simd_has_avx512(void) { return 0; }

void kato_lcs8_avx512(const uint8_t *charIndex, const uint64_t *masks, const uint8_t *const *texts, size_t n,
                      uint64_t v[8]) {
    (void)charIndex; (void)masks; (void)texts; (void)n; (void)v;
}

void kato_lcs4_avx2(const uint64_t *table, const uint8_t *a, const uint8_t *b, const uint8_t *c,
                    const uint8_t *d, size_t n, uint64_t v[4]) {
    (void)table; (void)a; (void)b; (void)c; (void)d; (void)n; (void)v;
}

#endif
