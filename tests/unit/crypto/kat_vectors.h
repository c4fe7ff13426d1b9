#ifndef KRING_TESTS_UNIT_CRYPTO_KAT_VECTORS_H_
#define KRING_TESTS_UNIT_CRYPTO_KAT_VECTORS_H_

// Published known-answer vectors, as lower-case hex. Each was checked
// against libsodium before it was written down.

namespace kring::crypto::kat {

// RFC 8032 section 7.1, Ed25519 TEST 1 (empty message)
inline constexpr char kEd25519Test1Seed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
inline constexpr char kEd25519Test1Public[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
inline constexpr char kEd25519Test1Message[] = "";
inline constexpr char kEd25519Test1Signature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

// RFC 8032 section 7.1, Ed25519 TEST 2
inline constexpr char kEd25519Test2Seed[] =
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
inline constexpr char kEd25519Test2Public[] =
    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
inline constexpr char kEd25519Test2Message[] = "72";
inline constexpr char kEd25519Test2Signature[] =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

// RFC 8032 section 7.1, Ed25519 TEST 3
inline constexpr char kEd25519Test3Seed[] =
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
inline constexpr char kEd25519Test3Public[] =
    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025";
inline constexpr char kEd25519Test3Message[] = "af82";
inline constexpr char kEd25519Test3Signature[] =
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a";

// RFC 7748 section 5.2, X25519 single-call vectors
inline constexpr char kX25519Vector1Scalar[] =
    "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4";
inline constexpr char kX25519Vector1U[] =
    "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c";
inline constexpr char kX25519Vector1Out[] =
    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552";
inline constexpr char kX25519Vector2Scalar[] =
    "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d";
inline constexpr char kX25519Vector2U[] =
    "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493";
inline constexpr char kX25519Vector2Out[] =
    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957";

// RFC 7748 section 5.2, iterated X25519 (k = u = 9) after 1 and 1000 steps
inline constexpr char kX25519Iterated1[] =
    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079";
inline constexpr char kX25519Iterated1000[] =
    "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";

// RFC 7748 section 6.1, X25519 Diffie-Hellman
inline constexpr char kX25519AlicePrivate[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
inline constexpr char kX25519AlicePublic[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
inline constexpr char kX25519BobPrivate[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
inline constexpr char kX25519BobPublic[] =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
inline constexpr char kX25519Shared[] =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

// draft-irtf-cfrg-xchacha-03 section A.3.1, AEAD_XChaCha20_Poly1305
inline constexpr char kXChaChaKey[] =
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
inline constexpr char kXChaChaNonce[] =
    "404142434445464748494a4b4c4d4e4f5051525354555657";
inline constexpr char kXChaChaAad[] = "50515253c0c1c2c3c4c5c6c7";
inline constexpr char kXChaChaPlaintext[] =
    "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
    "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
    "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
    "637265656e20776f756c642062652069742e";
inline constexpr char kXChaChaCiphertext[] =
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e";
inline constexpr char kXChaChaTag[] = "c0875924c1c7987947deafd8780acf49";

// RFC 8439 section 2.4.2, ChaCha20 encryption (initial counter 1); the
// plaintext is the same "sunscreen" text as kXChaChaPlaintext
inline constexpr char kChaChaKey[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
inline constexpr char kChaChaNonce[] = "000000000000004a00000000";
inline constexpr char kChaChaCiphertext[] =
    "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
    "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
    "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
    "5af90bbf74a35be6b40b8eedf2785e42874d";

// RFC 8439 appendix A.1, ChaCha20 block test vector #1 (zero key and nonce,
// counter 0): the keystream
inline constexpr char kChaChaA1Keystream[] =
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586";

}  // namespace kring::crypto::kat

#endif  // KRING_TESTS_UNIT_CRYPTO_KAT_VECTORS_H_
