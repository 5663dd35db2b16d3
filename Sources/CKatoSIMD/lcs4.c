// The one vector kernel of KatoEngine: four character-LCS bit vectors advanced in the four 64-bit
// lanes of an AVX2 register (one gather of the match masks, four lane-wise ops per character),
// compiled for AVX2 in this function only and chosen at run time, so the binary still runs on any
// x86-64 (and on other architectures the kernel is absent and the scalar Swift loop runs).
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

#else

int kato_simd_has_avx2(void) { return 0; }

void kato_lcs4_avx2(const uint64_t *table, const uint8_t *a, const uint8_t *b, const uint8_t *c,
                    const uint8_t *d, size_t n, uint64_t v[4]) {
    (void)table; (void)a; (void)b; (void)c; (void)d; (void)n; (void)v;
}

#endif
