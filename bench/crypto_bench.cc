#include "bench/crypto_bench.h"

#include <sodium.h>

#include <numeric>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "crypto/aead.h"
#include "crypto/identity.h"
#include "crypto/init.h"
#include "crypto/key_agreement.h"
#include "crypto/mask_prg.h"
#include "crypto/shamir.h"

namespace kring::bench {
namespace {

using crypto::MaskPrg;
using crypto::RingModulus;
using crypto::SecretBytes;

constexpr double kMiB = 1024.0 * 1024.0;

// Median seconds of `reps` runs of f.
template <typename F>
double MedianSeconds(int reps, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) t.push_back(TimeOnce(f));
  return Median(t);
}

// Operations per second of f, timed over `ops` calls.
template <typename F>
double OpsPerSecond(int ops, F&& f) {
  double s = TimeOnce([&] {
    for (int i = 0; i < ops; ++i) f();
  });
  return ops / s;
}

nlohmann::json MaskVersusRaw(const CryptoBenchOptions& o, int bits) {
  RingModulus ring = *RingModulus::Create(bits);
  const size_t word = bits <= 32 ? 4 : 8;
  const size_t n = o.mask_elements;
  const size_t bytes = n * word;  // keystream consumed by one expansion
  MaskPrg prg = *MaskPrg::Create(SecretBytes::Random(32), "bench");
  std::vector<uint64_t> acc(n, 0);
  std::vector<uint8_t> raw(bytes);
  SecretBytes key = SecretBytes::Random(crypto_stream_chacha20_ietf_KEYBYTES);
  uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};

  // Warm up, then interleave so both see the same machine state.
  prg.AddTo(ring, acc);
  crypto_stream_chacha20_ietf(raw.data(), raw.size(), nonce, key.data());
  std::vector<double> t_mask, t_raw;
  for (int r = 0; r < o.repetitions; ++r) {
    t_raw.push_back(TimeOnce([&] {
      crypto_stream_chacha20_ietf(raw.data(), raw.size(), nonce, key.data());
    }));
    t_mask.push_back(TimeOnce([&] { prg.AddTo(ring, acc); }));
  }
  // Keep the results observable so nothing is optimised away.
  volatile uint64_t sink = acc[n / 2] ^ raw[bytes / 2];
  (void)sink;
  double mask_mibs = bytes / Median(t_mask) / kMiB;
  double raw_mibs = bytes / Median(t_raw) / kMiB;
  return {
      {"modulus_bits", bits},
      {"elements", n},
      {"keystream_bytes_per_element", word},
      {"mask_add_elements_per_second", n / Median(t_mask)},
      {"mask_add_keystream_mib_per_second", mask_mibs},
      {"raw_chacha20_keystream_mib_per_second", raw_mibs},
      {"mask_to_raw_ratio", mask_mibs / raw_mibs},
  };
}

}  // namespace

nlohmann::json RunCryptoBench(const CryptoBenchOptions& o) {
  if (!crypto::Init().ok())
    return {{"error", "libsodium failed to initialise"}};
  nlohmann::json out;
  out["benchmark"] = "crypto";
  out["libsodium_version"] = sodium_version_string();
  out["repetitions"] = o.repetitions;

  nlohmann::json masks = nlohmann::json::array();
  for (int bits : {64, 32, 20}) masks.push_back(MaskVersusRaw(o, bits));
  out["mask_prg"] = masks;
  // The headline figure: the full-width ring, 8 keystream bytes per element.
  out["mask_to_raw_ratio"] = masks[0]["mask_to_raw_ratio"];

  {
    crypto::Aead aead = crypto::Aead::Generate();
    std::string plain(1 << 20, 'x');
    double s = MedianSeconds(o.repetitions, [&] {
      auto sealed = aead.Seal(plain, "bench");
      volatile size_t n = sealed->size();
      (void)n;
    });
    out["aead_seal_mib_per_second"] = plain.size() / s / kMiB;
  }
  {
    auto key = crypto::IdentityKeyPair::Generate();
    std::string msg(256, 'm');
    std::string sig = *key.Sign("bench", msg);
    out["ed25519_sign_per_second"] =
        OpsPerSecond(2000, [&] { (void)key.Sign("bench", msg); });
    out["ed25519_verify_per_second"] = OpsPerSecond(
        2000, [&] { (void)key.public_key().Verify("bench", msg, sig); });
  }
  {
    auto a = crypto::X25519KeyPair::Generate();
    auto b = crypto::X25519KeyPair::Generate();
    crypto::KeyAgreementContext ctx{"bench", "q", 1};
    out["x25519_agree_per_second"] = OpsPerSecond(
        2000, [&] { (void)a.Agree("a", b.public_key(), "b", ctx); });
  }
  {
    SecretBytes secret = SecretBytes::Random(32);
    for (int n : {10, 100}) {
      int t = n / 2 + 1;
      std::vector<uint32_t> xs(n);
      std::iota(xs.begin(), xs.end(), 1u);
      auto shares = *crypto::ShamirSplit(secret, t, xs);
      std::vector<crypto::ShamirShare> basis;
      for (int i = 0; i < t; ++i) basis.push_back(shares[i].Clone());
      std::string k = "shamir_n" + std::to_string(n) + "_t" + std::to_string(t);
      out[k + "_split_ms"] = 1e3 * MedianSeconds(o.repetitions, [&] {
                               (void)crypto::ShamirSplit(secret, t, xs);
                             });
      out[k + "_reconstruct_ms"] = 1e3 * MedianSeconds(o.repetitions, [&] {
                                     (void)crypto::ShamirReconstruct(basis, t);
                                   });
    }
  }
  return out;
}

}  // namespace kring::bench
