#include "kube/protobuf.h"

#include <catch2/catch.hpp>

#include "support/protobuf_writer.h"

using certguard::Code;
using certguard::Status;
using certguard::testing::Pb;
using certguard::testing::ProtobufListBody;
using namespace certguard::kube::protobuf;

namespace {

// Every field of `bytes`, or the reader's error.
std::string Fields(std::string_view bytes) {
  WireReader r(bytes);
  Field f;
  std::string out;
  while (r.Next(f)) {
    out += std::to_string(f.number) + ":" + std::to_string(f.type) + "=";
    out += f.type == kLen ? std::string(f.bytes) : std::to_string(f.value);
    out += ";";
  }
  if (r.failed()) out += "error: " + r.error();
  return out;
}

Json ReadListFrom(const std::string& body, std::vector<std::string>* items, Status* status) {
  auto got = ReadList(body.cbegin(), body.cend(), [&](std::string_view item) {
    items->emplace_back(item);
    return Status::Ok();
  });
  *status = got.status();
  return got.ok() ? *got : Json();
}

}  // namespace

TEST_CASE("WireReader reads each wire type in order", "[kube][protobuf]") {
  std::string fixed64 = Pb::VarintBytes(3 << 3 | 1) + std::string("\x01\x02\0\0\0\0\0\0", 8);
  std::string fixed32 = Pb::VarintBytes(4 << 3 | 5) + std::string("\xff\0\0\0", 4);
  std::string bytes = Pb().Varint(1, 300).Str(2, "ab").str() + fixed64 + fixed32 +
                      Pb().Varint(536870911, UINT64_MAX).str();
  CHECK(Fields(bytes) == "1:0=300;2:2=ab;3:1=513;4:5=255;536870911:0=18446744073709551615;");
  CHECK(Fields("").empty());
}

TEST_CASE("WireReader refuses what no encoder writes", "[kube][protobuf]") {
  auto error = [](const std::string& bytes) {
    std::string f = Fields(bytes);
    return f.substr(f.find("error: ") == std::string::npos ? f.size() : f.find("error: "));
  };
  CHECK(error("\x08") == "error: truncated varint");
  CHECK(error("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02") == "error: varint over 64 bits");
  CHECK(error(std::string("\x08") + std::string(10, '\x80') + "\x01") ==
        "error: varint over 64 bits");
  CHECK(error("\x12\x05" "abc") == "error: length past the end");
  CHECK(error("\x12\xff\xff\xff\xff\x0f") == "error: length past the end");
  CHECK(error("\x19\x01\x02") == "error: truncated fixed field");
  CHECK(error("\x25\x01") == "error: truncated fixed field");
  CHECK(error("\x0b") == "error: wire type 3");  // a group's start
  CHECK(error("\x0c") == "error: wire type 4");
  CHECK(error("\x0e") == "error: wire type 6");
  CHECK(error("\x02\x00") == "error: field number out of range");
  // A varint tag over 2^29 field numbers.
  CHECK(error(Pb::VarintBytes(uint64_t{1} << 35) + "\x00") == "error: field number out of range");
  // What came before the error is read; nothing after it.
  CHECK(Fields(Pb().Varint(1, 7).str() + "\x0b" + Pb().Varint(2, 8).str()) ==
        "1:0=7;error: wire type 3");
}

TEST_CASE("DecodeTime writes what metav1.Time writes in JSON", "[kube][protobuf]") {
  CHECK(*DecodeTime(Pb().Varint(1, 1700000000).str()) == "2023-11-14T22:13:20Z");
  // The nanoseconds are not in the JSON (RFC 3339 to the second).
  CHECK(*DecodeTime(Pb().Varint(1, 1700000000).Varint(2, 999999999).str()) ==
        "2023-11-14T22:13:20Z");
  CHECK(DecodeTime("")->is_null());  // the zero time
  CHECK(DecodeTime(Pb().Varint(1, 0).Varint(2, 0).str())->is_null());
  // Before 1970 (a varint of a negative int64 is ten bytes).
  CHECK(*DecodeTime(Pb().Varint(1, static_cast<uint64_t>(int64_t{-86400})).str()) ==
        "1969-12-31T00:00:00Z");
  CHECK(DecodeTime(Pb().Varint(1, 253402300800).str()).status().code() == Code::kInvalidArgument);
  CHECK(DecodeTime(Pb().Str(1, "x").str()).status().code() == Code::kInvalidArgument);
  CHECK(DecodeTime("\x08").status().code() == Code::kInvalidArgument);
}

TEST_CASE("DecodeObjectMeta writes the fields the JSON has and leaves out empty ones",
          "[kube][protobuf]") {
  Pb meta;
  meta.Str(1, "csr-1")
      .Str(2, "")  // generateName: empty, left out
      .Str(3, "")
      .Str(4, "")
      .Str(5, "0b5c")
      .Str(6, "42")
      .Varint(7, 0)  // generation 0: left out
      .Message(8, Pb().Varint(1, 1700000000))
      .Entry(11, "app", "k\xc3\xbc")
      .Entry(11, "tier", "")
      .Entry(12, "note", "x")
      .Message(13, Pb().Str(1, "Node").Str(3, "n1").Str(4, "u1").Str(5, "v1").Varint(6, 1))
      .Message(13, Pb().Str(1, "Pod"))
      .Str(14, "f1")
      .Str(14, "f2")
      .Message(17, Pb().Str(1, "kubectl"))  // managedFields: not decoded
      .Varint(99, 5);                       // a field of a later version: skipped
  auto m = DecodeObjectMeta(meta.str());
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  Json want = {
      {"name", "csr-1"},
      {"uid", "0b5c"},
      {"resourceVersion", "42"},
      {"creationTimestamp", "2023-11-14T22:13:20Z"},
      {"labels", {{"app", "k\xc3\xbc"}, {"tier", ""}}},
      {"annotations", {{"note", "x"}}},
      {"ownerReferences",
       {{{"apiVersion", "v1"}, {"kind", "Node"}, {"name", "n1"}, {"uid", "u1"}, {"controller", true}},
        {{"apiVersion", ""}, {"kind", "Pod"}, {"name", ""}, {"uid", ""}}}},
      {"finalizers", {"f1", "f2"}}};
  CHECK(m->dump() == want.dump());

  auto deleting = DecodeObjectMeta(
      Pb().Str(1, "x").Varint(7, 3).Message(9, Pb().Varint(1, 1700000060)).Varint(10, 0).str());
  REQUIRE(deleting.ok());
  CHECK(deleting->dump() ==
        Json({{"name", "x"},
              {"generation", 3},
              {"deletionTimestamp", "2023-11-14T22:14:20Z"},
              {"deletionGracePeriodSeconds", 0}})
            .dump());
}

TEST_CASE("DecodeObjectMeta refuses bytes JSON could not have carried", "[kube][protobuf]") {
  auto code = [](const Pb& p) { return DecodeObjectMeta(p.str()).status().code(); };
  CHECK(code(Pb().Str(1, "\xff")) == Code::kInvalidArgument);                  // not UTF-8
  CHECK(code(Pb().Entry(11, "a", "\xc0\xaf")) == Code::kInvalidArgument);      // overlong
  CHECK(code(Pb().Message(13, Pb().Str(3, "\xed\xa0\x80"))) == Code::kInvalidArgument);
  CHECK(code(Pb().Varint(1, 5)) == Code::kInvalidArgument);                    // wrong type
  CHECK(code(Pb().Str(7, "1")) == Code::kInvalidArgument);
  CHECK(code(Pb().Varint(11, 1)) == Code::kInvalidArgument);
  CHECK(code(Pb().Message(13, Pb().Str(6, "true"))) == Code::kInvalidArgument);
  CHECK(code(Pb().Message(8, Pb().Str(1, "t"))) == Code::kInvalidArgument);
  CHECK(DecodeObjectMeta("\x0a\x05" "ab").status().message().find("length past the end") !=
        std::string::npos);
}

TEST_CASE("ReadList hands over each item and returns the list's metadata", "[kube][protobuf]") {
  std::string body =
      ProtobufListBody(Pb().Str(1, "").Str(2, "77").Str(3, "next").Varint(4, 12),
                       {Pb().Message(1, Pb().Str(1, "a")), Pb(), Pb().Message(1, Pb().Str(1, "c"))});
  std::vector<std::string> items;
  Status s;
  Json meta = ReadListFrom(body, &items, &s);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(meta.dump() == R"({"metadata":{"continue":"next","remainingItemCount":12,"resourceVersion":"77"}})");
  REQUIRE(items.size() == 3);
  CHECK(items[0] == Pb().Message(1, Pb().Str(1, "a")).str());
  CHECK(items[1].empty());
  CHECK(items[2] == Pb().Message(1, Pb().Str(1, "c")).str());

  // An empty list.
  items.clear();
  meta = ReadListFrom(ProtobufListBody(Pb().Str(2, "9"), {}), &items, &s);
  CHECK(s.ok());
  CHECK(items.empty());
  CHECK(meta.dump() == R"({"metadata":{"resourceVersion":"9"}})");
}

TEST_CASE("ReadList refuses a body it cannot read whole, and stops when told",
          "[kube][protobuf]") {
  const std::string good = ProtobufListBody(Pb().Str(2, "1"), {Pb().Str(1, "a"), Pb().Str(1, "b")});
  auto error = [](const std::string& body) {
    std::vector<std::string> items;
    Status s;
    ReadListFrom(body, &items, &s);
    return s.code() == Code::kInvalidArgument ? s.message() : "not refused: " + s.ToString();
  };
  CHECK(error("{\"items\":[]}") == "protobuf list: no k8s magic");
  CHECK(error("k8s") == "protobuf list: no k8s magic");
  CHECK(error(std::string("k8s\0", 4)) == "protobuf list: no list");
  for (size_t cut : {good.size() - 1, good.size() - 5, good.size() - 7, size_t{10}}) {
    INFO("cut at " << cut);
    CHECK(error(good.substr(0, cut)).rfind("protobuf list: ", 0) == 0);
  }
  // Compressed or foreign content is not read.
  std::string gz = std::string("k8s\0", 4) +
                   Pb().Message(2, Pb()).Str(3, "gzip").str();
  CHECK(error(gz) == "protobuf list: envelope field 3 is not empty");
  std::string two = std::string("k8s\0", 4) + Pb().Message(2, Pb()).Message(2, Pb()).str();
  CHECK(error(two) == "protobuf list: two lists");
  // An item declared larger than any object the server can hold.
  std::string huge = std::string("k8s\0", 4) + Pb::VarintBytes(2 << 3 | 2) +
                     Pb::VarintBytes(kMaxItemBytes + 10) + Pb::VarintBytes(2 << 3 | 2) +
                     Pb::VarintBytes(kMaxItemBytes + 1);
  CHECK(error(huge) == "protobuf list: an item of 16777217 bytes");
  // An item running past the list that holds it.
  std::string past = std::string("k8s\0", 4) + Pb().Message(2, Pb().Raw("\x12\x05" "ab")).str() +
                     "xyz";
  CHECK(error(past) == "protobuf list: truncated");
  // A list field that is not length-delimited.
  CHECK(error(std::string("k8s\0", 4) + Pb().Message(2, Pb().Varint(2, 1)).str()) ==
        "protobuf list: bad list field");
  CHECK(error(std::string("k8s\0", 4) + Pb().Varint(2, 1).str()) ==
        "protobuf list: bad envelope field");

  // The handler's error ends the read and comes back as it is.
  int seen = 0;
  auto stopped = ReadList(good.cbegin(), good.cend(), [&](std::string_view) {
    ++seen;
    return certguard::Unavailable("stopping");
  });
  CHECK(seen == 1);
  CHECK(stopped.status().code() == Code::kUnavailable);
}
