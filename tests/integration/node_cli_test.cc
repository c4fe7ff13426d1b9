// Runs the real kring-node binary the way school IT would.

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/identity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct CliRun {
  int exit_code;
  std::string out;  // stdout and stderr
};

class NodeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-cli-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs kring-node with `args`; the passphrase comes from the environment.
  CliRun Node(const std::string& args,
              const std::string& passphrase = "correct horse battery") {
    std::string cmd = "KRING_NODE_PASSPHRASE='" + passphrase + "' " +
                      KRING_NODE_BINARY + " " + args + " --data-dir '" +
                      (dir_ / "data").string() + "' 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }

  // The pupil number of the first data row of a comma-separated export.
  static std::string FirstPupilNumber(const std::string& file) {
    std::ifstream in(file);
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    std::vector<std::string> cells, names;
    std::stringstream cs(row);
    for (std::string cell; std::getline(cs, cell, ',');) cells.push_back(cell);
    std::stringstream hs(header);
    for (std::string cell; std::getline(hs, cell, ',');) names.push_back(cell);
    for (size_t i = 0; i < names.size() && i < cells.size(); ++i) {
      if (names[i].find("umber") != std::string::npos ||
          names[i].find("ummer") != std::string::npos) {
        return cells[i];
      }
    }
    return "";
  }

  std::filesystem::path dir_;
};

TEST_F(NodeCliTest, InitSynthImportStatusErase) {
  CliRun init = Node("init");
  ASSERT_EQ(init.exit_code, 0) << init.out;
  for (const char* format : {"kring", "limesurvey", "msforms", "qualtrics"}) {
    std::string file = Path(std::string(format) + ".csv");
    CliRun synth = Node("synth --rows 200 --seed 3 --format " +
                        std::string(format) + " --wave 2024-25 --out " + file);
    ASSERT_EQ(synth.exit_code, 0) << synth.out;
  }
  CliRun imported = Node("import --json " + Path("msforms.csv"));
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  auto j = nlohmann::json::parse(imported.out);
  EXPECT_EQ(j["imported"], 200);
  EXPECT_EQ(j["format"], "msforms");
  std::string dropped = j["dropped_identifying_columns"].dump();
  EXPECT_THAT(dropped, HasSubstr("Naam"));
  EXPECT_THAT(dropped, HasSubstr("E-mail"));

  // The same pupils again (another format of the same synthetic school):
  // refused as duplicates, nothing imported.
  CliRun dup = Node("import " + Path("kring.csv"));
  EXPECT_EQ(dup.exit_code, 1) << dup.out;
  // The same file again: refused unless --replace.
  CliRun again = Node("import " + Path("msforms.csv"));
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.out, HasSubstr("--replace"));
  CliRun replace = Node("import --replace " + Path("msforms.csv"));
  EXPECT_EQ(replace.exit_code, 0) << replace.out;

  CliRun status = Node("status --json");
  ASSERT_EQ(status.exit_code, 0) << status.out;
  auto s = nlohmann::json::parse(status.out);
  EXPECT_EQ(s["waves"]["2024-25"]["records"], 200);

  CliRun erase = Node("erase --wave 2024-25 --yes");
  EXPECT_EQ(erase.exit_code, 0) << erase.out;
  auto after = nlohmann::json::parse(Node("status --json").out);
  EXPECT_TRUE(after["waves"].empty());
}

TEST_F(NodeCliTest, WrongPassphraseIsRefused) {
  ASSERT_EQ(Node("init").exit_code, 0);
  CliRun status = Node("status", "not the passphrase");
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_THAT(status.out, HasSubstr("passphrase"));
}

TEST_F(NodeCliTest, InvalidFileImportsNothingAndListsEveryProblem) {
  ASSERT_EQ(Node("init").exit_code, 0);
  std::string file = Path("bad.csv");
  ASSERT_EQ(Node("synth --rows 20 --out " + file).exit_code, 0);
  // Break two rows: an out-of-range answer and a missing pupil number.
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  std::vector<std::string> lines;
  std::string line;
  std::istringstream ls(text);
  while (std::getline(ls, line)) lines.push_back(line);
  lines[3] = lines[3].substr(0, lines[3].rfind(',')) + ",9";
  lines[7] = lines[7].substr(lines[7].find(','));
  std::ofstream outf(file);
  for (const auto& l : lines) outf << l << "\n";
  outf.close();
  CliRun r = Node("import " + file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("line 4"));
  EXPECT_THAT(r.out, HasSubstr("line 8"));
  EXPECT_THAT(r.out, HasSubstr("nothing was imported"));
  auto s = nlohmann::json::parse(Node("status --json").out);
  EXPECT_TRUE(s["waves"].empty());
}

// Hostile or unlucky inputs end in a clear error (or a safe output), never
// in an abort or in reading without bound (issue 12, items 5 and 8).
TEST_F(NodeCliTest, HostileInputsGetClearErrorsNotCrashes) {
  ASSERT_EQ(Node("init").exit_code, 0);
  CliRun zero = Node("import /dev/zero");
  EXPECT_EQ(zero.exit_code, 1) << zero.out;
  EXPECT_THAT(zero.out, HasSubstr("/dev/zero is larger than 256 MiB"));
  CliRun dir = Node("import '" + dir_.string() + "'");
  EXPECT_EQ(dir.exit_code, 1) << dir.out;
  EXPECT_THAT(dir.out, HasSubstr("is a directory"));

  // Headers with invalid UTF-8 and a terminal escape code, as extra columns.
  const std::string file = Path("hostile.csv");
  ASSERT_EQ(Node("synth --rows 5 --out " + file).exit_code, 0);
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::vector<std::string> lines;
  std::istringstream ls(text);
  for (std::string l; std::getline(ls, l);) lines.push_back(l);
  lines[0] += ",bad\xff\xfename,esc\x1b[2Jcode";
  for (size_t i = 1; i < lines.size(); ++i) lines[i] += ",x,y";
  std::ofstream out(file);
  for (const auto& l : lines) out << l << "\n";
  out.close();
  CliRun json = Node("import --json " + file);
  ASSERT_EQ(json.exit_code, 0) << json.out;
  auto summary = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << json.out;
  EXPECT_EQ(summary["imported"], 5);
  CliRun plain = Node("import --replace " + file);
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  EXPECT_THAT(plain.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(plain.out, HasSubstr("esc?[2Jcode"));

  // Query specs: a number no double holds, and a cutoff that is no number.
  const std::string spec =
      R"({"statistic": "proportion", "measures": ["belong_perception"],
          "direction": "below", "population": {"waves": ["2025-26"]},
          "purpose": "test", "cutoff": )";
  std::ofstream(Path("huge.json")) << spec << "1e400}";
  CliRun huge = Node("preview " + Path("huge.json"));
  EXPECT_EQ(huge.exit_code, 1) << huge.out;
  EXPECT_THAT(huge.out, HasSubstr("number overflow"));
  for (const char* bad : {"\"NaN\"", "\"Infinity\"", "\"-Infinity\""}) {
    std::ofstream(Path("nan.json")) << spec << bad << "}";
    CliRun nan = Node("preview " + Path("nan.json"));
    EXPECT_EQ(nan.exit_code, 1) << nan.out;
    EXPECT_THAT(nan.out, HasSubstr("`cutoff` must be a finite number")) << bad;
  }

  // A mapping file nested thousands of levels deep.
  std::string deep = "columns:\n  x: ";
  for (int i = 0; i < 3000; ++i) deep += "{a: ";
  deep += "1" + std::string(3000, '}') + "\n";
  std::ofstream(Path("deep.yaml")) << deep;
  CliRun nested =
      Node("import --replace --mapping " + Path("deep.yaml") + " " + file);
  EXPECT_EQ(nested.exit_code, 1) << nested.out;
  EXPECT_THAT(nested.out, HasSubstr("nested too deeply"));
}

// What someone who copied the data directory, but not the key, can read
// with ordinary tools: row counts, and no pupil's content.
TEST_F(NodeCliTest, CopiedDatabaseRevealsNoContentToSqlite3OrStrings) {
  ASSERT_EQ(Node("init").exit_code, 0);
  std::string file = Path("export.csv");
  ASSERT_EQ(Node("synth --rows 300 --seed 5 --format kring --wave 2024-25 "
                 "--out " +
                 file)
                .exit_code,
            0);
  ASSERT_EQ(Node("import " + file).exit_code, 0);
  // A few pupil numbers from the export, to look for.
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> numbers;
  while (numbers.size() < 20 && std::getline(in, line)) {
    numbers.push_back(line.substr(0, line.find(',')));
  }
  ASSERT_EQ(numbers.size(), 20u);
  const std::string copy = Path("copied.db");
  std::filesystem::copy_file(dir_ / "data" / "node.db", copy);
  auto capture = [](const std::string& cmd) {
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << cmd << ": " << out;
    return out;
  };
  // Blobs print as hex (X'...'), in which digits occur by chance: look for
  // pupil numbers in everything else.
  const std::string dump =
      std::regex_replace(capture("sqlite3 '" + copy + "' .dump"),
                         std::regex("X'[0-9A-Fa-f]*'"), "X''");
  const std::string count =
      capture("sqlite3 '" + copy + "' 'SELECT count(*) FROM records'");
  EXPECT_THAT(count, HasSubstr("300"));  // row counts are visible
  const std::string strings = capture("strings -n 4 '" + copy + "'");
  for (const std::string* text : {&dump, &strings}) {
    for (const char* content :
         {"2024-25", "havo", "vwo", "vmbo", "meisje", "jongen",
          "kring-belonging", "mee eens", "ST034"}) {
      EXPECT_THAT(*text, Not(HasSubstr(content)));
    }
    for (const std::string& n : numbers) {
      EXPECT_THAT(*text, Not(HasSubstr(n)));
    }
  }
}

// kring-node preview on imported synthetic data, for every statistic kind
// (the example specs in docs/queries).
TEST_F(NodeCliTest, PreviewWorksForEveryStatistic) {
  // A key file instead of a passphrase: 21 commands, and this test is about
  // the statistics, not the key derivation (Argon2id, about 0.7 s each).
  const std::string k = " --key-file '" + Path("store.key") + "'";
  ASSERT_EQ(Node("init" + k).exit_code, 0);
  for (const char* wave : {"2024-25", "2025-26"}) {
    const std::string file = Path(std::string(wave) + ".csv");
    ASSERT_EQ(Node(std::string("synth --rows 300 --seed 4 --wave ") + wave +
                   " --out " + file)
                  .exit_code,
              0);
    ASSERT_EQ(Node("import " + file + k).exit_code, 0);
  }
  std::set<std::string> statistics;
  const std::filesystem::path dir =
      std::filesystem::path(KRING_SOURCE_DIR) / "docs" / "queries";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string spec = entry.path().string();
    CliRun text = Node("preview --municipality GM0363 '" + spec + "'" + k);
    EXPECT_EQ(text.exit_code, 0) << spec << "\n" << text.out;
    EXPECT_THAT(text.out, HasSubstr("What would leave this school"));
    CliRun json =
        Node("preview --json --municipality GM0363 '" + spec + "'" + k);
    ASSERT_EQ(json.exit_code, 0) << spec << "\n" << json.out;
    auto j = nlohmann::json::parse(json.out);
    EXPECT_EQ(j["vector"].size(), j["vector_length"].get<size_t>());
    // This school's own figures: at least one cell with figures.
    bool figures = false;
    for (const auto& cell : j["own_figures"]["cells"]) {
      figures |= cell.contains("figures") && !cell["figures"].empty();
    }
    EXPECT_TRUE(figures) << spec;
    std::ifstream in(spec);
    statistics.insert(nlohmann::json::parse(in)["statistic"]);
  }
  EXPECT_EQ(statistics,
            (std::set<std::string>{"count", "mean", "distribution",
                                   "proportion", "crosstab", "correlation",
                                   "reliability", "regression", "trend"}));
  // A query that needs the school's municipality says so.
  CliRun missing =
      Node("preview '" + (dir / "mean-by-municipality.json").string() + "'");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("--municipality"));
  // A typo gets a suggestion, not a crash.
  std::ofstream(Path("typo.json"))
      << R"({"statistic": "mean", "measures": ["belong_percption"]})";
  CliRun typo = Node("preview '" + Path("typo.json") + "'");
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.out, HasSubstr("did you mean `belong_perception`"));
}

// The audit log records every change in plain words, without pupil
// numbers, and `audit verify` notices an entry edited with sqlite3.
TEST_F(NodeCliTest, AuditLogRecordsChangesAndDetectsTampering) {
  ASSERT_EQ(Node("init").exit_code, 0);
  const std::string file = Path("export.csv");
  ASSERT_EQ(Node("synth --rows 50 --seed 7 --format msforms --wave 2024-25 "
                 "--out " +
                 file)
                .exit_code,
            0);
  ASSERT_EQ(Node("import " + file).exit_code, 0);
  // One pupil number from the export, to erase and then look for.
  const std::string pupil = FirstPupilNumber(file);
  ASSERT_FALSE(pupil.empty());
  CliRun erased = Node("erase --yes --pupil '" + pupil + "'");
  ASSERT_EQ(erased.exit_code, 0) << erased.out;

  CliRun shown = Node("audit --json");
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  auto j = nlohmann::json::parse(shown.out);
  EXPECT_TRUE(j["intact"]);
  ASSERT_EQ(j["entries"].size(), 3u) << shown.out;
  EXPECT_EQ(j["entries"][0]["seq"], 1);
  EXPECT_EQ(j["entries"][0]["kind"], "init");
  const auto& import = j["entries"][1];
  EXPECT_EQ(import["kind"], "import");
  EXPECT_EQ(import["summary"].get<std::string>().rfind(
                "Imported 50 records from export.csv (msforms)", 0),
            0u)
      << import["summary"];
  EXPECT_THAT(import["summary"].get<std::string>(), HasSubstr("Naam"));
  EXPECT_EQ(import["fields"]["file"], "export.csv");
  EXPECT_EQ(import["fields"]["records"], "50");
  EXPECT_THAT(import["fields"]["dropped_columns"].get<std::string>(),
              HasSubstr("E-mail"));
  const auto& erase = j["entries"][2];
  EXPECT_EQ(erase["kind"], "erase");
  EXPECT_EQ(erase["summary"],
            "Erased 1 record of one pupil (right to erasure)");
  EXPECT_THAT(shown.out, Not(HasSubstr(pupil)));

  CliRun text = Node("audit");
  EXPECT_EQ(text.exit_code, 0) << text.out;
  EXPECT_THAT(text.out, HasSubstr("Imported 50 records from export.csv"));
  EXPECT_THAT(text.out, HasSubstr("      file: export.csv"));
  EXPECT_THAT(text.out, HasSubstr("The audit log is intact: 3 entries"));

  CliRun ok = Node("audit verify");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out,
              HasSubstr("The audit log is intact: 3 entries, the last on"));

  // The pupil number is nowhere in the file either.
  const std::string db = (dir_ / "data" / "audit.db").string();
  FILE* p = popen(("sqlite3 '" + db + "' .dump").c_str(), "r");
  std::string dump;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) dump.append(buf, n);
  ASSERT_EQ(pclose(p), 0);
  EXPECT_THAT(dump, HasSubstr("Imported 50 records"));
  EXPECT_THAT(dump, Not(HasSubstr(pupil)));

  // Someone makes the import look smaller.
  ASSERT_EQ(std::system(("sqlite3 '" + db +
                         "' \"UPDATE entries SET summary = replace(summary, "
                         "'50 records', '5 records') WHERE seq = 2\"")
                            .c_str()),
            0);
  CliRun bad = Node("audit verify");
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_THAT(bad.out, HasSubstr("entry 2"));
  CliRun bad_json = Node("audit --json");
  EXPECT_EQ(bad_json.exit_code, 1);
  auto jb = nlohmann::json::parse(
      bad_json.out.substr(0, bad_json.out.rfind('}') + 1));
  EXPECT_FALSE(jb["intact"]);
  EXPECT_THAT(jb["problem"].get<std::string>(), HasSubstr("entry 2"));
}

// A removed audit.db is noticed, and a new log says where it starts.
TEST_F(NodeCliTest, RemovedAuditLogIsNoticedAndANewOneSaysSo) {
  ASSERT_EQ(Node("init").exit_code, 0);
  std::filesystem::remove(dir_ / "data" / "audit.db");
  CliRun missing = Node("audit verify");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("no audit log"));
  const std::string file = Path("export.csv");
  ASSERT_EQ(Node("synth --rows 20 --out " + file).exit_code, 0);
  ASSERT_EQ(Node("import " + file).exit_code, 0);
  CliRun shown = Node("audit --json");
  ASSERT_EQ(shown.exit_code, 0) << shown.out;
  auto j = nlohmann::json::parse(shown.out);
  ASSERT_EQ(j["entries"].size(), 2u);
  EXPECT_EQ(j["entries"][0]["kind"], "started");
  EXPECT_THAT(j["entries"][0]["summary"].get<std::string>(),
              HasSubstr("changes made before now are not in it"));
  EXPECT_EQ(j["entries"][1]["kind"], "import");
  EXPECT_EQ(Node("audit verify").exit_code, 0);
}

TEST_F(NodeCliTest, ErasedPupilStaysOutOfReimportsUntilReadmitted) {
  ASSERT_EQ(Node("init").exit_code, 0);
  const std::string file = Path("export.csv");
  ASSERT_EQ(Node("synth --rows 50 --seed 11 --format msforms --wave 2024-25 "
                 "--out " +
                 file)
                .exit_code,
            0);
  ASSERT_EQ(Node("import " + file).exit_code, 0);
  const std::string pupil = FirstPupilNumber(file);
  ASSERT_FALSE(pupil.empty());
  CliRun erased = Node("erase --yes --pupil '" + pupil + "'");
  ASSERT_EQ(erased.exit_code, 0) << erased.out;
  EXPECT_THAT(erased.out, HasSubstr("Later imports leave this pupil out"));

  // The school imports the same export again: the pupil stays erased.
  CliRun again = Node("import --replace " + file);
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_THAT(again.out, HasSubstr("Imported 49 records"));
  EXPECT_THAT(again.out, HasSubstr("Left out 1 records of pupils erased "
                                   "earlier"));
  auto json =
      nlohmann::json::parse(Node("import --json --replace " + file).out);
  EXPECT_EQ(json["imported"], 49);
  EXPECT_EQ(json["left_out_erased"], 1);

  CliRun usage = Node("readmit");
  EXPECT_NE(usage.exit_code, 0) << usage.out;
  EXPECT_THAT(usage.out, HasSubstr("--pupil is required"));
  CliRun readmit = Node("readmit --pupil '" + pupil + "'");
  ASSERT_EQ(readmit.exit_code, 0) << readmit.out;
  EXPECT_THAT(readmit.out, HasSubstr("Lifted the erasure"));
  EXPECT_THAT(Node("readmit --pupil '" + pupil + "'").out,
              HasSubstr("nothing changed"));
  CliRun back = Node("import --replace " + file);
  ASSERT_EQ(back.exit_code, 0) << back.out;
  EXPECT_THAT(back.out, HasSubstr("Imported 50 records"));

  CliRun log = Node("audit --json");
  ASSERT_EQ(log.exit_code, 0) << log.out;
  EXPECT_THAT(log.out, HasSubstr("One erased pupil may be imported again"));
  EXPECT_THAT(log.out, Not(HasSubstr(pupil)));
}

TEST_F(NodeCliTest, HelpExplainsTheCommands) {
  CliRun help = Node("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* cmd : {"init", "import", "status", "erase", "readmit",
                          "rotate-key", "synth", "preview", "audit"}) {
    EXPECT_THAT(help.out, HasSubstr(cmd));
  }
}

// `kring-node enroll` refuses, before it spends the one-time code or
// writes node.yaml, flags that would give a node.yaml `run` refuses.
TEST_F(NodeCliTest, EnrollRefusesWhatRunWouldRefuse) {
  ASSERT_EQ(Node("init").exit_code, 0);
  const std::string key =
      kring::crypto::IdentityKeyPair::Generate().public_key().ToText();
  CliRun twice = Node(
      "enroll --code NOT-SPENT --insecure-loopback "
      "--coordinator 127.0.0.1:9 --approver-key " +
      key + " --approver-key " + key);
  EXPECT_EQ(twice.exit_code, 1) << twice.out;
  EXPECT_THAT(twice.out, HasSubstr("lists this key twice")) << twice.out;
  CliRun remote = Node(
      "enroll --code NOT-SPENT --insecure-loopback "
      "--coordinator 10.0.0.1:9 --approver-key " +
      key);
  EXPECT_EQ(remote.exit_code, 1) << remote.out;
  EXPECT_THAT(remote.out,
              HasSubstr("plaintext is only allowed to this machine"))
      << remote.out;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "data" / "node.yaml"));
}

// `kring-node run` refuses a node.yaml with a bad value before it connects:
// exit code 1, and a message that names the line and what to do.
struct BadNodeYaml {
  std::string name;
  std::string from, to;  // the change to kNodeYaml
  std::string line;      // "node.yaml:6:"
  std::string fix;       // part of what the message says to do
};
// Prints the case's name, so ctest lists readable test names.
void PrintTo(const BadNodeYaml& c, std::ostream* os) { *os << c.name; }

constexpr char kNodeYaml[] = R"(coordinator: 127.0.0.1:7443
insecure_loopback: true
school_id: 00AA-abc
municipality: GM0363
approvers:
  required: 1
  keys:
    - KEY0
    - KEY1
policy:
  statistics: [count, mean]
  requester_roles: [researcher, municipality]
)";

class NodeRunRefusesTest : public NodeCliTest,
                           public ::testing::WithParamInterface<BadNodeYaml> {
 protected:
  // kNodeYaml with two fresh approver keys and GetParam()'s change.
  static std::string Yaml(bool with_change) {
    std::string yaml = kNodeYaml;
    if (with_change) {
      EXPECT_NE(yaml.find(GetParam().from), std::string::npos);
      Substitute(yaml, GetParam().from, GetParam().to);
    }
    for (const char* key : {"KEY0", "KEY1"}) {
      Substitute(
          yaml, key,
          kring::crypto::IdentityKeyPair::Generate().public_key().ToText());
    }
    return yaml;
  }
  // Replaces every `from` in `text`.
  static void Substitute(std::string& text, const std::string& from,
                         const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
};

TEST_P(NodeRunRefusesTest, NamesTheLineAndWhatToDo) {
  // A key file: the refusals come before the store is opened, and the valid
  // run needs no passphrase derivation to get to the node key.
  const std::string k = " --key-file '" + Path("store.key") + "'";
  ASSERT_EQ(Node("init" + k).exit_code, 0);
  const auto yaml = dir_ / "data" / "node.yaml";
  std::ofstream(yaml) << Yaml(/*with_change=*/false);
  // The unchanged file passes the checks: the agent gets to its key file.
  CliRun valid = Node("run" + k);
  EXPECT_THAT(valid.out, HasSubstr("node.key"));
  std::ofstream(yaml) << Yaml(/*with_change=*/true);
  CliRun run = Node("run" + k);
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr(GetParam().line)) << run.out;
  EXPECT_THAT(run.out, HasSubstr(GetParam().fix)) << run.out;
}

INSTANTIATE_TEST_SUITE_P(
    BadValues, NodeRunRefusesTest,
    ::testing::Values(
        BadNodeYaml{"RequiredZero", "required: 1", "required: 0",
                    "node.yaml:6:", "must be at least 1"},
        BadNodeYaml{"RequiredAboveKeys", "required: 1", "required: 3",
                    "node.yaml:6:", "add keys or lower required"},
        BadNodeYaml{"NoKeys", "  keys:\n    - KEY0\n    - KEY1\n",
                    "  keys: []\n", "node.yaml:7:", "add the public key"},
        BadNodeYaml{"UnknownStatistic", "[count, mean]", "[count, median]",
                    "node.yaml:11:", "unknown statistic `median`; use some of"},
        BadNodeYaml{"UnknownRole", "[researcher, municipality]",
                    "[researcher, journalist]", "node.yaml:12:",
                    "unknown role `journalist`; use researcher"},
        BadNodeYaml{"DuplicatedKey", "    - KEY1\n", "    - KEY0\n",
                    "node.yaml:9:", "remove the copy"},
        BadNodeYaml{"UnreadableCa", "insecure_loopback: true",
                    "tls_ca: no-such-ca.pem",
                    "node.yaml:2:", "check its permissions"},
        BadNodeYaml{"PlaintextToAnotherMachine", "127.0.0.1:7443",
                    "coordinator.example.nl:7443", "node.yaml:2:", "use TLS"},
        BadNodeYaml{"EmptyCoordinator", "127.0.0.1:7443", "\"\"",
                    "node.yaml:1:", "give coordinator in node.yaml"}),
    [](const ::testing::TestParamInfo<BadNodeYaml>& info) {
      return info.param.name;
    });

}  // namespace

namespace {

// Issue 13: 300 rows with the same problem are one line, the whole report
// fits a screen, and --json keeps every row.
TEST_F(NodeCliTest, RepeatedProblemsAreGroupedOnOneScreen) {
  ASSERT_EQ(Node("init").exit_code, 0);
  const std::string file = Path("export.csv");
  ASSERT_EQ(Node("synth --rows 300 --seed 4 --out " + file).exit_code, 0);
  // Every gender "onbekend", and 30 different unknown ages.
  std::ifstream in(file);
  std::string header, line, text;
  std::getline(in, header);
  text = header + "\n";
  std::vector<std::string> names;
  std::stringstream hs(header);
  for (std::string cell; std::getline(hs, cell, ',');) names.push_back(cell);
  const size_t gender =
      std::find(names.begin(), names.end(), "gender") - names.begin();
  const size_t age =
      std::find(names.begin(), names.end(), "age") - names.begin();
  for (int row = 0; std::getline(in, line); ++row) {
    std::vector<std::string> cells;
    std::stringstream cs(line);
    for (std::string cell; std::getline(cs, cell, ',');) cells.push_back(cell);
    cells.resize(names.size());
    cells[gender] = "onbekend";
    if (row < 30) cells[age] = "leeftijd" + std::to_string(row);
    for (size_t i = 0; i < cells.size(); ++i) {
      text += (i ? "," : "") + cells[i];
    }
    text += "\n";
  }
  std::ofstream(file) << text;
  CliRun run = Node("import " + file);
  EXPECT_EQ(run.exit_code, 1);
  const auto lines = std::count(run.out.begin(), run.out.end(), '\n');
  EXPECT_LE(lines, 20) << run.out;
  EXPECT_THAT(run.out, HasSubstr("gender: \"onbekend\" is not recognised: "
                                 "300 rows (2\xE2\x80\x93"
                                 "301); accepted values:"));
  EXPECT_THAT(run.out, HasSubstr("and 27 more is not recognised: 30 rows"));
  CliRun json = Node("import --json " + file);
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["problems"].size(), 330u);
  ASSERT_EQ(j["problem_groups"].size(), 2u);
  EXPECT_EQ(j["problem_groups"][0]["rows"], 300);
  EXPECT_EQ(j["problem_groups"][0]["lines"].size(), 300u);
}

// An .xlsx export imports like its CSV, and the summary names the sheet.
TEST_F(NodeCliTest, XlsxImportNamesTheWorksheet) {
  ASSERT_EQ(Node("init").exit_code, 0);
  CliRun run = Node("import " + std::string(KRING_SOURCE_DIR) +
                    "/tests/fixtures/import/limesurvey.xlsx");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("Imported 12 records"));
  EXPECT_THAT(run.out, HasSubstr("Read worksheet \"results\", the first of 2 "
                                 "(results, info)"));
}

}  // namespace

namespace {

// --dry-run on a PISA-coded export with its mapping: says what would be
// imported and how it read the answers, and stores nothing; the real import
// then stores them, and a PISA-only export shows the one component asked.
TEST_F(NodeCliTest, DryRunShowsTheCodingAndStoresNothing) {
  ASSERT_EQ(Node("init").exit_code, 0);
  const std::string fixtures =
      std::string(KRING_SOURCE_DIR) + "/tests/fixtures/import/";
  const std::string args = "import " + fixtures + "pisa_coded.csv --mapping " +
                           fixtures + "pisa_coded.yaml";
  CliRun dry = Node(args + " --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.out;
  EXPECT_THAT(dry.out, HasSubstr("Dry run:"));
  EXPECT_THAT(dry.out, HasSubstr("nothing was stored"));
  EXPECT_THAT(dry.out, HasSubstr("ST034Q01"));
  auto before = nlohmann::json::parse(Node("status --json").out);
  EXPECT_TRUE(before["waves"].empty()) << before.dump();
  CliRun real = Node(args);
  ASSERT_EQ(real.exit_code, 0) << real.out;
  auto after = nlohmann::json::parse(Node("status --json").out);
  EXPECT_FALSE(after["waves"].empty()) << after.dump();

  CliRun only = Node("import " + fixtures + "pisa_only.csv --replace");
  CliRun status = Node("status");
  ASSERT_EQ(status.exit_code, 0) << status.out;
  EXPECT_THAT(status.out, HasSubstr("components asked"));
}

}  // namespace
