// What a dishonest coordinator or network can try, and how nodes and the
// coordinator refuse it.

#include <sodium.h>

#include <functional>
#include <vector>

#include "crypto/secagg/internal/masks.h"
#include "crypto/secagg/internal/transcript.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/secagg/harness.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::AllOf;
using testing::Harness;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using State = SecAggNode::State;

// Runs rounds 1..4 without interference.
void RunToEnd(Harness& h, std::vector<Outgoing> out) {
  for (int r = 1; r <= 4; ++r) {
    auto next = h.Step(std::move(out));
    ASSERT_THAT(next, IsOk()) << "round " << r;
    out = *std::move(next);
  }
}

// Runs rounds 3 and 4 (survivor set, unmask) without interference.
void RunToEnd3And4(Harness& h, std::vector<Outgoing> out) {
  for (int r = 3; r <= 4; ++r) {
    auto next = h.Step(std::move(out));
    ASSERT_THAT(next, IsOk()) << "round " << r;
    out = *std::move(next);
  }
}

TEST(SecAggAdversarialTest, HonestRunThroughTheHarness) {
  Harness h(5, 3);
  RunToEnd(h, h.Start());
  ASSERT_TRUE(h.coordinator->finished());
  const auto& sum = h.coordinator->result().sum;
  for (uint32_t j = 0; j < sum.size(); ++j) {
    EXPECT_EQ(sum[j], 10u + 5u * j);  // sum over i of (i + j)
  }
}

TEST(SecAggAdversarialTest, EquivocatingSurvivorSetMakesHonestNodesAbort) {
  Harness h(6, 4);
  auto out = h.Start();
  out = *h.Step(std::move(out));  // ShareKeys
  out = *h.Step(std::move(out));  // MaskedInput -> survivor sets
  // The coordinator tells nodes 0-2 that node 5 dropped and nodes 3-5 that
  // it survived.
  auto after = h.Step(std::move(out), [](uint32_t to, v1::SecAggMessage& m) {
    if (to <= 2) {
      std::string bitmap = m.survivor_set().bitmap();
      bitmap[0] = static_cast<char>(bitmap[0] & ~(1 << 5));
      m.mutable_survivor_set()->set_bitmap(bitmap);
    }
  });
  // A lying coordinator forwards every signature it got to everyone.
  std::vector<Outgoing> requests;
  for (uint32_t v = 0; v < 6; ++v) {
    Outgoing o{v, {}};
    o.message.set_query_id("q-test");
    o.message.set_round(4);
    auto* req = o.message.mutable_unmask_request();
    for (uint32_t w = 0; w < 6; ++w) {
      if (w == v || (v <= 2 && w == 5)) continue;
      *req->add_signatures() = h.last_replies[w].consistency_signature();
    }
    requests.push_back(std::move(o));
  }
  for (auto& o : requests) {
    auto reply = h.nodes[o.to].Handle(o.message);
    EXPECT_THAT(reply,
                StatusIs(absl::StatusCode::kAborted, HasSubstr("equivocating")))
        << "node " << o.to;
    EXPECT_EQ(h.nodes[o.to].state(), State::kAborted);
  }
  // The honest coordinator code itself refuses the signatures over the
  // other set, so it cannot gather enough confirmations either.
  EXPECT_THAT(after, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(SecAggAdversarialTest, AskingForBothSharesOfAPeerIsRefused) {
  Harness h(5, 3);
  RunToEnd(h, h.Start());
  ASSERT_EQ(h.nodes[0].state(), State::kDone);
  // Node 0 revealed self-mask shares for everyone (all survived). Asking
  // again, now claiming node 4 dropped, would yield node 4's mask-key share.
  v1::SecAggMessage again = h.delivered[0];
  EXPECT_THAT(h.nodes[0].Handle(again),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("both the self-mask share and the "
                                 "mask-key share")));
  EXPECT_EQ(h.nodes[0].state(), State::kAborted);
}

TEST(SecAggAdversarialTest, ASecondDifferentSurvivorSetIsRefused) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  out = *h.Step(std::move(out));
  v1::SecAggMessage set = out[1].message;
  ASSERT_THAT(h.nodes[1].Handle(set), IsOk());
  EXPECT_THAT(h.nodes[1].Handle(set),
              StatusIs(absl::StatusCode::kAlreadyExists));  // harmless dup
  std::string bitmap = set.survivor_set().bitmap();
  bitmap[0] = static_cast<char>(bitmap[0] & ~(1 << 4));
  set.mutable_survivor_set()->set_bitmap(bitmap);
  EXPECT_THAT(h.nodes[1].Handle(set),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("second, different survivor set")));
}

TEST(SecAggAdversarialTest, MessageFromAnotherQueryIsRejected) {
  Harness a(4, 3, "q-a"), b(4, 3, "q-b");  // same schools, two queries
  auto out_a = a.Start();
  auto out_b = b.Start();
  // Replayed as is: refused, nothing changes.
  EXPECT_THAT(b.nodes[0].Handle(out_a[0].message),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rejected a message for query")));
  EXPECT_EQ(b.nodes[0].state(), State::kAdvertised);
  // Relabelled for query b: the keys inside were signed for query a.
  v1::SecAggMessage relabelled = out_a[0].message;
  relabelled.set_query_id("q-b");
  EXPECT_THAT(b.nodes[0].Handle(relabelled),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("not signed")));
  // The coordinator of b refuses a's node messages.
  v1::SecAggMessage adv = a.last_replies[1];
  EXPECT_THAT(b.coordinator->Receive(adv),
              StatusIs(absl::StatusCode::kInvalidArgument));
  adv.set_query_id("q-b");
  EXPECT_THAT(b.coordinator->Receive(adv),
              StatusIs(absl::StatusCode::kInvalidArgument));  // wrong round
  (void)out_b;
}

TEST(SecAggAdversarialTest, MessageFromAnotherRoundIsRejected) {
  Harness h(4, 3);
  auto round1 = h.Start();
  auto round2 = *h.Step(round1);
  // Node 0 is waiting for its shares; an old round-1 message is refused and
  // leaves it able to continue.
  EXPECT_THAT(h.nodes[0].Handle(round1[0].message),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("replayed or reordered")));
  EXPECT_EQ(h.nodes[0].state(), State::kSharedKeys);
  // The coordinator refuses an old advertisement and a duplicate.
  EXPECT_THAT(h.coordinator->Receive(h.last_replies[0]),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto round3 = h.Step(std::move(round2));
  ASSERT_THAT(round3, IsOk());
  EXPECT_THAT(h.coordinator->Receive(h.last_replies[2]),
              StatusIs(absl::StatusCode::kInvalidArgument));  // now round 3
}

TEST(SecAggAdversarialTest, DuplicateNodeMessageIsRejectedByCoordinator) {
  Harness h(4, 3);
  auto out = h.Start();
  auto reply = h.nodes[0].Handle(out[0].message);
  ASSERT_THAT(reply, IsOk());
  EXPECT_THAT(h.coordinator->Receive(*reply), IsOk());
  EXPECT_THAT(h.coordinator->Receive(*reply),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(SecAggAdversarialTest, TamperedEncryptedShareIsDetected) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  auto next = h.Step(std::move(out), [](uint32_t to, v1::SecAggMessage& m) {
    if (to == 2) {
      auto* es = m.mutable_incoming_shares()->mutable_shares(0);
      std::string c = es->ciphertext();
      c[c.size() / 2] ^= 0x10;
      es->set_ciphertext(c);
    }
  });
  EXPECT_THAT(h.errors[2], HasSubstr("failed authentication"));
  EXPECT_EQ(h.nodes[2].state(), State::kAborted);
}

TEST(SecAggAdversarialTest, ShareRedirectedToAnotherNodeIsDetected) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  // Give node 3 the share that node 0 encrypted for node 2.
  v1::EncryptedShare stolen;
  for (const auto& o : out) {
    if (o.to != 2) continue;
    for (const auto& es : o.message.incoming_shares().shares()) {
      if (es.sender() == 0) stolen = es;
    }
  }
  (void)h.Step(std::move(out), [&](uint32_t to, v1::SecAggMessage& m) {
    if (to != 3) return;
    for (auto& es : *m.mutable_incoming_shares()->mutable_shares()) {
      if (es.sender() == 0) {
        es.set_ciphertext(stolen.ciphertext());
      }
    }
  });
  EXPECT_THAT(h.errors[3], HasSubstr("failed authentication"));
}

TEST(SecAggAdversarialTest, ForgedNeighbourKeysAreDetected) {
  Harness h(4, 3);
  auto out = h.Start();
  (void)h.Step(std::move(out), [](uint32_t to, v1::SecAggMessage& m) {
    if (to == 1) {
      // Substitute the coordinator's own key for node 0's cipher key.
      m.mutable_neighbour_keys()->mutable_keys(0)->set_cipher_public_key(
          std::string(X25519KeyPair::Generate().public_key()));
    }
  });
  EXPECT_THAT(h.errors[1], HasSubstr("not signed by its identity key"));
  EXPECT_EQ(h.nodes[1].state(), State::kAborted);
}

TEST(SecAggAdversarialTest, CoordinatorRejectsTamperedMaskedInput) {
  Harness h(4, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  auto reply = h.nodes[0].Handle(out[0].message);
  ASSERT_THAT(reply, IsOk());
  v1::SecAggMessage tampered = *reply;
  std::string packed = tampered.masked_input().packed();
  packed[0] ^= 1;
  tampered.mutable_masked_input()->set_packed(packed);
  EXPECT_THAT(h.coordinator->Receive(tampered),
              StatusIs(absl::StatusCode::kUnauthenticated));
  tampered = *reply;
  tampered.mutable_masked_input()->set_sender(1);
  EXPECT_THAT(h.coordinator->Receive(tampered),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(h.coordinator->Receive(*reply), IsOk());
}

TEST(SecAggSetupTest, RejectsUnsafeOrMalformedConfigs) {
  Harness h(5, 3);
  v1::SecAggConfig good = h.setup->config();
  EXPECT_THAT(SecAggSetup::Create(good), IsOk());
  v1::SecAggConfig c = good;
  c.set_threshold(2);  // not a majority of 5 holders
  EXPECT_THAT(SecAggSetup::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("strict majority")));
  c = good;
  c.set_threshold(6);
  EXPECT_THAT(SecAggSetup::Create(c), Not(IsOk()));
  c = good;
  c.set_query_seed("short");
  EXPECT_THAT(SecAggSetup::Create(c), Not(IsOk()));
  c = good;
  c.mutable_roster(1)->set_node_id("school-0");
  EXPECT_THAT(
      SecAggSetup::Create(c),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("appears twice")));
  c = good;
  c.set_modulus_bits(65);
  EXPECT_THAT(SecAggSetup::Create(c), Not(IsOk()));
  c = good;
  c.set_dims(0);
  EXPECT_THAT(SecAggSetup::Create(c), Not(IsOk()));
  c = good;
  c.mutable_roster()->DeleteSubrange(2, 3);
  EXPECT_THAT(SecAggSetup::Create(c), Not(IsOk()));
}

TEST(SecAggNodeTest, RefusesWrongIdentityAndBadInput) {
  Harness h(5, 3);
  EXPECT_THAT(SecAggNode::Create(h.setup, 0, h.identities[1],
                                 std::vector<uint64_t>(8, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not the key the roster lists")));
  EXPECT_THAT(SecAggNode::Create(h.setup, 0, h.identities[0],
                                 std::vector<uint64_t>(7, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SecAggNode::Create(h.setup, 0, h.identities[0],
                                 std::vector<uint64_t>(8, 101)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the query's bound")));
  EXPECT_THAT(SecAggNode::Create(h.setup, 9, h.identities[0],
                                 std::vector<uint64_t>(8, 0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SecAggNodeTest, RefusesAThresholdTooLowForItsOwnGoals) {
  Harness h(10, 6);  // enough against 5% colluders, not against 30%
  SecurityGoals strict;
  strict.corrupt_fraction = 0.3;
  EXPECT_THAT(SecAggNode::Create(h.setup, 0, h.identities[0],
                                 std::vector<uint64_t>(8, 0), strict),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("threshold t = 6 is too low")));
  EXPECT_THAT(SecAggNode::Create(h.setup, 0, h.identities[0],
                                 std::vector<uint64_t>(8, 0)),
              IsOk());
}

TEST(SecAggSetupTest, RefusesUnsortedRosterAndWrappingModulus) {
  Harness h(5, 3);
  v1::SecAggConfig c = h.setup->config();
  c.mutable_roster()->SwapElements(0, 1);
  EXPECT_THAT(SecAggSetup::Create(c),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("sorted by node_id")));
  c = h.setup->config();
  c.set_modulus_bits(8);  // 5 x 100 needs 9 bits
  EXPECT_THAT(
      SecAggSetup::Create(c),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("can wrap")));
  c = h.setup->config();
  c.add_element_bounds(3);  // 2 bounds for 8 elements
  EXPECT_THAT(SecAggSetup::Create(c), Not(IsOk()));
}

TEST(SecAggAdversarialTest, CoordinatorRefusesSmallOrderKeys) {
  Harness h(4, 3);
  v1::SecAggMessage m;
  m.set_query_id("q-test");
  m.set_round(0);
  auto* adv = m.mutable_advertise_keys();
  adv->set_sender(0);
  adv->set_cipher_public_key(std::string(32, '\0'));
  adv->set_mask_public_key(std::string(X25519KeyPair::Generate().public_key()));
  adv->set_signature(*h.identities[0].Sign(
      internal::kAdvertiseContext,
      internal::AdvertiseBytes(h.setup->session(), *adv)));
  EXPECT_THAT(
      h.coordinator->Receive(m),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("small-order")));
}

TEST(SecAggAdversarialTest, CoordinatorRefusesSharesThatLeaveOutANeighbour) {
  Harness h(5, 3);
  auto out = h.Start();
  auto reply = h.nodes[0].Handle(out[0].message);
  ASSERT_THAT(reply, IsOk());
  // Node 0 (malicious) drops its share for one neighbour and signs anew:
  // it would mask with that neighbour, which would not mask back.
  v1::SecAggMessage m = *reply;
  auto* sk = m.mutable_share_keys();
  sk->mutable_shares()->RemoveLast();
  sk->set_signature(
      *h.identities[0].Sign(internal::kShareKeysContext,
                            internal::ShareKeysBytes(h.setup->session(), *sk)));
  EXPECT_THAT(h.coordinator->Receive(m),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must share with all")));
}

TEST(SecAggAdversarialTest, CorruptSelfMaskShareIsCaughtByTheCommitment) {
  Harness h(5, 3);
  auto out = h.Start();
  for (int r = 1; r <= 3; ++r) out = *h.Step(std::move(out));
  // Node 1 (malicious) shifts its share of node 0's self-mask seed so that
  // the coordinator, interpolating from nodes 0, 1 and 2 (points 1, 2, 3),
  // gets b + 1: a seed that still looks valid but leaves the mask in place.
  // The shift is h(2) for the polynomial h through (0, 1), (1, 0), (3, 0).
  std::vector<ShamirShare> points;
  points.push_back({0, SecretBytes(64)});
  points[0].y.data()[0] = 1;
  points.push_back({1, SecretBytes(64)});
  points.push_back({3, SecretBytes(64)});
  KRING_ASSERT_OK_AND_ASSIGN(SecretBytes shift,
                             crypto::internal::ShamirInterpolateAt(points, 2));
  for (auto& o : out) {
    auto reply = h.nodes[o.to].Handle(o.message);
    ASSERT_THAT(reply, IsOk());
    if (o.to == 1) {
      auto* ur = reply->mutable_unmask_response();
      for (auto& rs : *ur->mutable_shares()) {
        if (rs.owner() != 0) continue;
        std::string y = rs.share();
        for (int half = 0; half < 2; ++half) {
          auto* p = reinterpret_cast<uint8_t*>(y.data()) + 32 * half;
          crypto_core_ristretto255_scalar_add(p, p, shift.data() + 32 * half);
        }
        rs.set_share(y);
      }
      ur->set_signature(*h.identities[1].Sign(
          internal::kUnmaskContext,
          internal::UnmaskBytes(h.setup->session(), *ur)));
    }
    ASSERT_THAT(h.coordinator->Receive(*reply), IsOk());
  }
  EXPECT_THAT(h.coordinator->CloseRound(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("does not match its commitment")));
  EXPECT_FALSE(h.coordinator->finished());
}

// Leaves node `from`'s share out of node `to`'s IncomingShares.
std::function<void(uint32_t, v1::SecAggMessage&)> LeaveOutShare(uint32_t to,
                                                                uint32_t from) {
  return [to, from](uint32_t recipient, v1::SecAggMessage& m) {
    if (recipient != to || !m.has_incoming_shares()) return;
    auto* shares = m.mutable_incoming_shares()->mutable_shares();
    for (int i = 0; i < shares->size(); ++i) {
      if (shares->Get(i).sender() == from) {
        shares->DeleteSubrange(i, 1);
        return;
      }
    }
  };
}

TEST(SecAggCompletionTest, AShareLeftOutFailsTheRunInsteadOfAWrongSum) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));                       // -> IncomingShares
  out = *h.Step(std::move(out), LeaveOutShare(0, 1));  // node 0 masks alone
  out = *h.Step(std::move(out));                       // survivor set
  EXPECT_EQ(h.nodes[0].state(), State::kAborted);
  EXPECT_THAT(h.errors[0], HasSubstr("never reached this node"));
  // Node 0 did not say so (its message was lost): the coordinator still
  // must not release a sum that holds node 0's unmatched masks.
  EXPECT_THAT(h.Step(std::move(out)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("node 0"),
                             HasSubstr("did not complete the protocol"))));
  EXPECT_FALSE(h.coordinator->finished());
}

TEST(SecAggCompletionTest, AContributorThatReportsItsAbortFailsTheRunAtOnce) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  out = *h.Step(std::move(out), LeaveOutShare(0, 1));
  ASSERT_EQ(out[0].to, 0u);
  ASSERT_THAT(h.nodes[0].Handle(out[0].message),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(h.coordinator->ReportAbort(0, h.nodes[0].abort_reason()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("aborted after its masked input"),
                             HasSubstr("never reached this node"))));
  EXPECT_TRUE(h.coordinator->failed());
}

TEST(SecAggCompletionTest, AnAbortBeforeMaskingIsADropoutAndTheSumIsExact) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));  // -> IncomingShares for everyone
  // Node 4 aborts instead of masking and says so: the round need not wait
  // for its deadline.
  ASSERT_THAT(h.coordinator->ReportAbort(4, "deadline"), IsOk());
  std::erase_if(out, [](const Outgoing& o) { return o.to == 4; });
  for (auto& o : out) {
    auto reply = h.nodes[o.to].Handle(o.message);
    ASSERT_THAT(reply, IsOk());
    ASSERT_THAT(h.coordinator->Receive(*reply), IsOk());
  }
  EXPECT_TRUE(h.coordinator->AllReceived());
  auto next = h.coordinator->CloseRound();
  ASSERT_THAT(next, IsOk());
  RunToEnd3And4(h, *std::move(next));
  ASSERT_TRUE(h.coordinator->finished());
  EXPECT_THAT(h.coordinator->result().contributors,
              ::testing::ElementsAre(0, 1, 2, 3));
  for (uint32_t j = 0; j < 8; ++j) {
    EXPECT_EQ(h.coordinator->result().sum[j], 6u + 4u * j);
  }
}

TEST(SecAggCompletionTest, AShareLeftOutFromADropoutIsCaughtInTheUnmaskRound) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  // Node 4 shared its keys and then drops out; node 0 never got its share,
  // so node 0 masks without node 4 while the coordinator will remove node
  // 4's pairwise mask from node 0's input.
  std::erase_if(out, [](const Outgoing& o) { return o.to == 4; });
  out = *h.Step(std::move(out), LeaveOutShare(0, 4));
  out = *h.Step(std::move(out));  // node 0 signs: node 4 is not listed
  EXPECT_THAT(h.errors, IsEmpty());
  EXPECT_THAT(h.Step(std::move(out)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("never received the shares of node 4")));
  EXPECT_FALSE(h.coordinator->finished());
}

TEST(SecAggCompletionTest, ADropoutAfterMaskingFailsTheRun) {
  Harness h(5, 3);
  auto out = h.Start();
  out = *h.Step(std::move(out));
  out = *h.Step(std::move(out));  // every masked input is in
  std::erase_if(out, [](const Outgoing& o) { return o.to == 2; });
  out = *h.Step(std::move(out));  // node 2 never confirms
  EXPECT_THAT(h.Step(std::move(out)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("node 2 (\"school-2\") sent a masked input "
                                 "but did not complete the protocol")));
}

TEST(SecAggCompletionTest, ADropoutAfterConfirmingStillCounts) {
  Harness h(5, 3);
  auto out = h.Start();
  for (int r = 1; r <= 3; ++r) out = *h.Step(std::move(out));
  // Node 2 confirmed the survivor set (so it masked with every listed
  // neighbour, and no neighbour dropped), then drops before unmasking.
  std::erase_if(out, [](const Outgoing& o) { return o.to == 2; });
  ASSERT_THAT(h.Step(std::move(out)), IsOk());
  ASSERT_TRUE(h.coordinator->finished());
  for (uint32_t j = 0; j < 8; ++j) {
    EXPECT_EQ(h.coordinator->result().sum[j], 10u + 5u * j);
  }
}

TEST(SecAggNodeTest, DeadlineAbortsAndForgets) {
  Harness h(4, 3);
  auto out = h.Start();
  h.nodes[2].OnDeadline();
  EXPECT_EQ(h.nodes[2].state(), State::kAborted);
  EXPECT_THAT(h.nodes[2].abort_reason(), HasSubstr("did not continue"));
  EXPECT_THAT(h.nodes[2].Handle(out[2].message),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace kring::crypto::secagg
