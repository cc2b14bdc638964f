// tests/data/tar_formats_test.cc — tars the reader must take from elsewhere (pax and GNU tars
// written by Python's tarfile) and crafted headers it must refuse with a Status, not a crash.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "runtime/data/shard_index.h"
#include "runtime/data/tar_reader.h"
#include "runtime/data/webdataset.h"
#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

using testing::TempDir;

// Member names the fixture holds: longer than ustar's 100-byte name field, non-ASCII, both.
const std::string kLongName = std::string(90, 'd') + "/" + std::string(60, 'f') + ".json";
const std::string kChineseKey = "商品/连衣裙-红色";              // "goods/dress-red"
const std::string kAccentKey = "café_" + std::string(110, 'x');  // non-ASCII and long

// Writes a tar with Python's tarfile in `format` (PAX_FORMAT is its default): a global pax
// header, a directory, then the members above. Data is the member name's byte length as text.
void WritePythonTar(const std::string& path, const std::string& format) {
  const std::string script = path + ".py";
  {
    std::ofstream out(script);
    out << "import io, sys, tarfile\n"
           "names = ['d' * 90 + '/' + 'f' * 60 + '.json',\n"
           "         '\\u5546\\u54c1/\\u8fde\\u8863\\u88d9-\\u7ea2\\u8272.json',\n"
           "         'caf\\u00e9_' + 'x' * 110 + '.json']\n"
           "fmt = getattr(tarfile, sys.argv[2])\n"
           "extra = {'pax_headers': {'comment': 'tigerfg'}} if sys.argv[2] == 'PAX_FORMAT' else "
           "{}\n"
           "with tarfile.open(sys.argv[1], 'w', format=fmt, encoding='utf-8', **extra) as t:\n"
           "    d = tarfile.TarInfo('\\u76ee\\u5f55-' + 'z' * 120); d.type = tarfile.DIRTYPE\n"
           "    t.addfile(d)\n"
           "    for n in names:\n"
           "        data = ('{\"title\": \"t\", \"product_id\": %d}' % len(n.encode())).encode()\n"
           "        info = tarfile.TarInfo(n); info.size = len(data)\n"
           "        t.addfile(info, io.BytesIO(data))\n";
  }
  const std::string command = "/usr/bin/python3 " + script + " " + path + " " + format;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string Json(const std::string& name) {
  return "{\"title\": \"t\", \"product_id\": " + std::to_string(name.size()) + "}";
}

void ExpectReadsPythonTar(const std::string& path) {
  TarReader reader;
  Status st = reader.Open(path);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(reader.members().size(), 3u);
  const std::string names[] = {kLongName, kChineseKey + ".json", kAccentKey + ".json"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(reader.members()[i].name, names[i]);
    StatusOr<std::string> data = reader.Read(names[i]);
    ASSERT_TRUE(data.ok()) << data.status().message();
    EXPECT_EQ(*data, Json(names[i]));
  }
}

TEST(TarFormats, ReadsPythonPaxTarWithLongAndNonAsciiNames) {
  TempDir dir;
  WritePythonTar(dir / "pax.tar", "PAX_FORMAT");
  ExpectReadsPythonTar(dir / "pax.tar");

  // The samples are visible to the dataset by their non-ASCII keys (was: "no samples").
  ASSERT_TRUE(WriteShardIndex(dir / "pax.tar").ok());
  StatusOr<std::unique_ptr<WebDataset>> ds = WebDataset::Open({dir / "pax.tar"}, /*parts=*/0);
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  ASSERT_EQ((*ds)->size(), 3);
  StatusOr<RawSample> chinese = (*ds)->Read(1);
  ASSERT_TRUE(chinese.ok()) << chinese.status().message();
  EXPECT_EQ(chinese->key, kChineseKey);
  EXPECT_EQ(chinese->product_id, static_cast<int64_t>(kChineseKey.size() + 5));
}

TEST(TarFormats, ReadsPythonGnuTarWithLongNames) {
  TempDir dir;
  WritePythonTar(dir / "gnu.tar", "GNU_FORMAT");
  ExpectReadsPythonTar(dir / "gnu.tar");
}

// --- Crafted headers -------------------------------------------------------------------------

std::string Octal(int64_t v) {
  char field[13];
  std::snprintf(field, sizeof(field), "%011llo", static_cast<long long>(v));
  return std::string(field, 12);  // 11 digits and a NUL
}

// GNU base-256: 0x80, then the value big-endian in the remaining 11 bytes.
std::string Base256(uint64_t v) {
  std::string field(12, '\0');
  field[0] = static_cast<char>(0x80);
  for (int i = 11; i >= 4; --i, v >>= 8) field[i] = static_cast<char>(v & 0xFF);
  return field;
}

// One 512-byte ustar header with a valid checksum; `size_field` is the 12 raw size bytes.
std::string Header(const std::string& name, char type, const std::string& size_field) {
  std::string h(512, '\0');
  name.copy(h.data(), std::min<size_t>(name.size(), 100));
  std::memcpy(&h[100], "0000644", 7);
  size_field.copy(&h[124], 12);
  h[156] = type;
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

std::string Padded(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

// "LEN KEY=VALUE\n" where LEN counts the whole record, its own digits included.
std::string PaxRecord(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t length = body.size() + std::to_string(body.size()).size();
  if (std::to_string(length).size() != std::to_string(body.size()).size()) ++length;
  return std::to_string(length) + body;
}

std::string Member(const std::string& name, const std::string& data) {
  return Header(name, '0', Octal(data.size())) + Padded(data);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Opens `bytes` as a shard: the error must name the shard and `member`, and only a.json (the
// complete member before the damage) may be indexed.
void ExpectRefused(const std::string& bytes, const std::string& member) {
  TempDir dir;
  const std::string path = dir / "crafted.tar";
  WriteFile(path, bytes);
  TarReader reader;
  Status st = reader.Open(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("crafted.tar"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(member), std::string::npos) << st.message();
  ASSERT_EQ(reader.members().size(), 1u);
  EXPECT_EQ(reader.Read("a.json").value(), "{}");
  for (const char* name : {"b.json", "big.json"}) EXPECT_FALSE(reader.Read(name).ok());
}

const std::string kEnd(1024, '\0');

// data_offset + size overflows int64: the old bounds check passed, then Read threw bad_alloc.
TEST(TarFormats, MemberSizeThatOverflowsIsRefused) {
  const std::string bytes = Member("a.json", "{}") +
                            Header("b.json", '0', Base256(0x7FFFFFFFFFFFFE00ull)) +
                            std::string(2048, 'b') + kEnd;
  ExpectRefused(bytes, "b.json");
  ExpectRefused(Member("a.json", "{}") + Header("b.json", '0', Base256(~0ull >> 1)) + kEnd,
                "b.json");
  // A base-256 value wider than int64 is a bad size field, not a wrapped one.
  std::string wide = Base256(0);
  wide[1] = 0x7F;
  ExpectRefused(Member("a.json", "{}") + Header("b.json", '0', wide) + kEnd, "b.json");
}

// A GNU long-name record's size was allocated before any check (bad_alloc in Open).
TEST(TarFormats, LongNameRecordSizeIsChecked) {
  const std::string long_link = "././@LongLink";
  ExpectRefused(
      Member("a.json", "{}") + Header(long_link, 'L', Base256(0x7FFFFFFFFFFFFE00ull)) + kEnd,
      long_link);
  ExpectRefused(Member("a.json", "{}") + Header(long_link, 'L', Octal(077777777777)) + kEnd,
                long_link);
  // Within the file but absurd for a name: refused before it is read.
  const std::string huge(2 << 20, 'n');
  ExpectRefused(Member("a.json", "{}") + Header(long_link, 'L', Octal(huge.size())) + Padded(huge) +
                    Member("b.json", "{}") + kEnd,
                long_link);
}

TEST(TarFormats, PaxSizeIsCheckedAgainstTheFile) {
  auto pax = [](const std::string& records) {
    return Header("PaxHeaders/big.json", 'x', Octal(records.size())) + Padded(records);
  };
  // The pax size, not the header's, says where the data ends.
  ExpectRefused(Member("a.json", "{}") +
                    pax(PaxRecord("path", "big.json") + PaxRecord("size", "1000000000000000")) +
                    Member("big.json", "{}") + kEnd,
                "big.json");
  ExpectRefused(Member("a.json", "{}") + pax(PaxRecord("size", "99999999999999999999")) +
                    Member("b.json", "{}") + kEnd,
                "99999999999999999999");
  ExpectRefused(Member("a.json", "{}") + pax("12 path=b.json\n") + Member("b.json", "{}") + kEnd,
                "malformed pax record");
  ExpectRefused(Member("a.json", "{}") + pax("999 path=b.json\n") + Member("b.json", "{}") + kEnd,
                "malformed pax record");

  // A global header's path and size apply to every later member until a local one overrides.
  TempDir dir;
  const std::string records = PaxRecord("size", "3");
  WriteFile(dir / "g.tar", Header("GlobalHead", 'g', Octal(records.size())) + Padded(records) +
                               Header("c.json", '0', Octal(0)) + Padded("abc") +
                               pax(PaxRecord("size", "1")) + Header("d.json", '0', Octal(0)) +
                               Padded("d") + kEnd);
  TarReader reader;
  Status st = reader.Open(dir / "g.tar");
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(reader.Read("c.json").value(), "abc");
  EXPECT_EQ(reader.Read("d.json").value(), "d");
}

// Every byte before the last member's data in the Python pax fixture (global and per-file pax
// headers and records, the directory entry, member headers), overwritten with a few values:
// the scan ends in a Status or an index, and every indexed member reads (lies inside the file).
TEST(TarFormats, MutatedHeadersGiveAnErrorOrAReadableIndex) {
  TempDir dir;
  const std::string path = dir / "pax.tar";
  WritePythonTar(path, "PAX_FORMAT");
  TarReader clean;
  ASSERT_TRUE(clean.Open(path).ok());
  const int64_t end = clean.members().back().offset;  // every header and pax record before it
  const int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  int opened = 0;
  for (int64_t at = 0; at < end; ++at) {
    char original = 0;
    ASSERT_EQ(pread(fd, &original, 1, at), 1);
    for (char value : {'\0', '7', '\xff'}) {
      ASSERT_EQ(pwrite(fd, &value, 1, at), 1);
      TarReader reader;
      opened += reader.Open(path).ok();
      for (const TarMember& m : reader.members()) {
        EXPECT_TRUE(reader.Read(m).ok()) << "byte " << at << " = " << int{value};
      }
    }
    ASSERT_EQ(pwrite(fd, &original, 1, at), 1);
  }
  close(fd);
  EXPECT_GT(opened, 0);  // most bytes (names, padding) leave a readable shard
}

TEST(TarFormats, ReadOfAMemberOutsideTheShardIsAnError) {
  TempDir dir;
  WriteFile(dir / "a.tar", Member("a.json", "{}") + kEnd);
  TarReader reader;
  ASSERT_TRUE(reader.Open(dir / "a.tar").ok());
  for (TarMember bogus : {TarMember{"x", 512, int64_t{1} << 62}, TarMember{"x", -1, 1},
                          TarMember{"x", int64_t{1} << 62, 1}}) {
    StatusOr<std::string> read = reader.Read(bogus);
    ASSERT_FALSE(read.ok());
    EXPECT_NE(read.status().message().find("a.tar"), std::string::npos);
  }
}

}  // namespace
}  // namespace tigerfg::data
