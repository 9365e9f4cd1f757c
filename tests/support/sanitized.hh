#pragma once
// Whether this test binary runs under AddressSanitizer. Tests whose time goes to large randomized
// workloads run fewer rounds there: the sanitizer build is for memory errors on the code paths,
// the plain build (which runs every round) for the results, and the whole CI run has 30 minutes
// on 2 cores. GCC defines __SANITIZE_ADDRESS__; clang answers __has_feature.
namespace phigate::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace phigate::test
