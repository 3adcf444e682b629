// Signed notes and checkpoints: known answers from the Go sumdb/note package
// documentation and the C2SP signed-note spec example, then round trips.
#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "crypto/base64.h"
#include "crypto/signer.h"

namespace cloison::audit {
namespace {

// golang.org/x/mod/sumdb/note, package documentation (BSD-3-Clause).
constexpr std::string_view kPeterPrivate = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kPeterVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kPeterText =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
constexpr std::string_view kPeterNote =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n"
    "\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
// C2SP signed-note spec example.
constexpr std::string_view kSpecVerifier = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
constexpr std::string_view kSpecNote =
    "This is an example message.\n\n\xE2\x80\x94 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

TEST(CheckpointTest, GoNoteKnownAnswers) {
  auto signer = NoteSigner::FromPrivateKey(kPeterPrivate);
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->VerifierKey(), kPeterVerifier);
  EXPECT_EQ(signer->PrivateKey(), kPeterPrivate);
  // Ed25519 is deterministic: signing the text gives the published note.
  EXPECT_EQ(signer->Sign(kPeterText), kPeterNote);
  auto v = NoteVerifier::FromVerifierKey(kPeterVerifier);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->Verify(kPeterNote).ok());
  std::string bad(kPeterNote);
  bad[3] ^= 1;
  EXPECT_EQ(v->Verify(bad).code(), absl::StatusCode::kUnauthenticated);
}

TEST(CheckpointTest, SpecExampleVerifies) {
  auto v = NoteVerifier::FromVerifierKey(kSpecVerifier);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->Verify(kSpecNote).ok());
  auto peter = NoteVerifier::FromVerifierKey(kPeterVerifier);
  EXPECT_FALSE(peter->Verify(kSpecNote).ok());  // other key's line is ignored, none left
}

TEST(CheckpointTest, BadKeysRejected) {
  EXPECT_FALSE(NoteVerifier::FromVerifierKey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(NoteVerifier::FromVerifierKey("PeterNeumann+c74f20a3").ok());
  EXPECT_FALSE(NoteVerifier::FromVerifierKey("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  EXPECT_FALSE(NoteSigner::FromPrivateKey("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr").ok());
}

TEST(CheckpointTest, CheckpointRoundTrip) {
  auto signer = NoteSigner::Generate("cloison.test/audit/1");
  ASSERT_TRUE(signer.ok());
  Checkpoint c{"cloison.test/audit/1", 1234567, HashLeaf({})};
  const std::string note = signer->Sign(CheckpointBody(c));
  auto v = NoteVerifier::FromVerifierKey(signer->VerifierKey());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->Verify(note).ok());
  auto parsed = ParseCheckpoint(note);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, c);
  EXPECT_FALSE(ParseCheckpoint("o\n01\nAAAA\n").ok());
  EXPECT_FALSE(ParseCheckpoint("o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").ok());
  EXPECT_TRUE(ParseCheckpoint("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").ok());
  // A changed size invalidates the signature.
  std::string forged = note;
  forged.replace(forged.find("1234567"), 7, "1234568");
  EXPECT_FALSE(v->Verify(forged).ok());
}

TEST(SignerTest, Ed25519SignVerify) {
  auto s = crypto::Ed25519Signer::Generate();
  auto v = crypto::Ed25519Verifier::Create(s->public_key());
  ASSERT_TRUE(v.ok());
  const std::vector<uint8_t> msg = {1, 2, 3};
  auto sig = s->Sign(msg);
  EXPECT_TRUE((*v)->Verify(msg, sig).ok());
  sig[0] ^= 1;
  EXPECT_FALSE((*v)->Verify(msg, sig).ok());
  EXPECT_FALSE((*v)->Verify(msg, std::vector<uint8_t>(10)).ok());
  EXPECT_FALSE(crypto::Ed25519Signer::FromSeed(crypto::SecretBytes(31)).ok());
}

TEST(Base64Test, StrictDecoding) {
  EXPECT_EQ(crypto::Base64Encode(std::vector<uint8_t>{'f', 'o', 'o', 'b'}), "Zm9vYg==");
  EXPECT_TRUE(crypto::Base64Decode("Zm9vYg==").ok());
  EXPECT_FALSE(crypto::Base64Decode("Zm9vYg").ok());
  EXPECT_FALSE(crypto::Base64Decode("Zm9vYh==").ok());  // non-zero padding bits
  EXPECT_FALSE(crypto::Base64Decode("Zm9v Yg==").ok());
  EXPECT_TRUE(crypto::Base64Decode("").ok());
}

}  // namespace
}  // namespace cloison::audit
