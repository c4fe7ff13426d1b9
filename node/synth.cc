#include "node/synth.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_set>
#include <vector>

#include "survey/record.h"
#include "util/str_cat.h"

namespace kring::node {

using survey::Instrument;
using survey::Item;
using survey::Name;
using survey::ResponseScale;
namespace {

// Quotes a CSV cell when it needs it.
std::string Cell(std::string_view v, char delimiter) {
  bool quote = v.find_first_of("\"\r\n") != std::string_view::npos ||
               v.find(delimiter) != std::string_view::npos;
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

class Writer {
 public:
  explicit Writer(const SynthOptions& o) : o_(o) {
    if (o.bom) out_ = "\xEF\xBB\xBF";
  }
  void Row(const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out_.push_back(o_.delimiter);
      out_ += Cell(cells[i], o_.delimiter);
    }
    out_ += o_.crlf ? "\r\n" : "\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  const SynthOptions& o_;
  std::string out_;
};

constexpr const char* kFirstNames[] = {"Sanne", "Daan", "Noor",  "Mohammed",
                                       "Emma",  "Liam", "Fenna", "Yusuf",
                                       "Julia", "Sem",  "Aya",   "Milan"};
constexpr const char* kLastNames[] = {
    "de Jong",   "Jansen", "Bakker", "Yilmaz",  "Visser",
    "El Amrani", "Smit",   "Meijer", "de Boer", "Mulder"};
constexpr const char* kComments[] = {"",
                                     "",
                                     "",
                                     "",
                                     "Ik vind de pauzes te kort.",
                                     "Fijne mentor, maar de klas is druk",
                                     "Niks",
                                     "Meer activiteiten graag!"};

struct Pupil {
  std::string number;
  std::string first, last;
  std::string track;
  uint32_t grade;
  std::string gender;
  uint32_t age;
  std::string migration, strain;
  std::vector<uint32_t> answers;  // per item, 0 = missing
  uint32_t day, hour, minute;
};

constexpr v1::Track kTracks[] = {v1::TRACK_PRO,    v1::TRACK_VMBO_B,
                                 v1::TRACK_VMBO_K, v1::TRACK_VMBO_GT,
                                 v1::TRACK_HAVO,   v1::TRACK_VWO};
constexpr double kTrackShare[] = {0.04, 0.12, 0.12, 0.22, 0.25, 0.25};
constexpr uint32_t kTrackYears[] = {4, 4, 4, 4, 5, 6};
constexpr double kTrackEffect[] = {-0.15, -0.10, -0.05, 0.0, 0.05, 0.10};

std::vector<Pupil> MakePupils(const Instrument& ins, const SynthOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::discrete_distribution<int> track_pick(std::begin(kTrackShare),
                                             std::end(kTrackShare));
  std::unordered_set<uint32_t> numbers;
  std::vector<Pupil> pupils;
  pupils.reserve(o.rows);
  for (size_t r = 0; r < o.rows; ++r) {
    Pupil p;
    uint32_t n;
    do {
      n = 100000 + static_cast<uint32_t>(rng() % 8900000);
    } while (!numbers.insert(n).second);
    p.number = std::to_string(n);
    p.first = kFirstNames[rng() % std::size(kFirstNames)];
    p.last = kLastNames[rng() % std::size(kLastNames)];
    int t = track_pick(rng);
    p.track = std::string(Name(kTracks[t]));
    p.grade = 1 + static_cast<uint32_t>(rng() % kTrackYears[t]);
    double g = unit(rng);
    const v1::Gender gender = g < 0.48   ? v1::GENDER_JONGEN
                              : g < 0.96 ? v1::GENDER_MEISJE
                              : g < 0.98 ? v1::GENDER_ANDERS
                                         : v1::GENDER_WIL_NIET_ZEGGEN;
    p.gender = std::string(Name(gender));
    p.age = 11 + p.grade + (unit(rng) < 0.2 ? 1 : 0);
    double m = unit(rng);
    p.migration =
        std::string(Name(m < 0.70   ? v1::MIGRATION_BACKGROUND_NONE
                         : m < 0.82 ? v1::MIGRATION_BACKGROUND_FIRST_GENERATION
                         : m < 0.97 ? v1::MIGRATION_BACKGROUND_SECOND_GENERATION
                                    : v1::MIGRATION_BACKGROUND_UNKNOWN));
    double s = unit(rng);
    const v1::FinancialStrain strain = s < 0.75   ? v1::FINANCIAL_STRAIN_NONE
                                       : s < 0.93 ? v1::FINANCIAL_STRAIN_SOME
                                                  : v1::FINANCIAL_STRAIN_SEVERE;
    p.strain = std::string(Name(strain));
    // Belonging: a general latent score, lower in the middle years, by
    // track and gender, and for pupils facing exclusion or poverty.
    double mu = 0.35 + kTrackEffect[t] -
                (p.grade == 2 || p.grade == 3 ? 0.15 : 0.0) -
                (gender == v1::GENDER_MEISJE ? 0.08 : 0.0) -
                (gender == v1::GENDER_ANDERS ? 0.45 : 0.0) -
                (strain == v1::FINANCIAL_STRAIN_SEVERE ? 0.25 : 0.0);
    double general = mu + normal(rng);
    double component[4];
    for (double& c : component) c = 0.75 * general + 0.45 * normal(rng);
    for (size_t i = 0; i < ins.items().size(); ++i) {
      const Item& item = ins.items()[i];
      const ResponseScale& scale = ins.ResponseScaleOf(i);
      if (unit(rng) < o.missing_rate) {
        p.answers.push_back(0);
        continue;
      }
      double z =
          component[static_cast<int>(item.component)] + 0.55 * normal(rng);
      if (item.reverse_keyed) z = -z;
      // Map the latent value onto the scale's codes with evenly spread
      // thresholds around the centre.
      const size_t k = scale.options.size();
      double pos = (z + 1.6) / 3.2 * static_cast<double>(k);
      size_t idx = static_cast<size_t>(
          std::clamp(pos, 0.0, static_cast<double>(k) - 1e-9));
      p.answers.push_back(scale.options[idx].code);
    }
    p.day = 1 + static_cast<uint32_t>(rng() % 28);
    p.hour = 8 + static_cast<uint32_t>(rng() % 8);
    p.minute = static_cast<uint32_t>(rng() % 60);
    pupils.push_back(std::move(p));
  }
  return pupils;
}

std::string Two(uint32_t v) { return v < 10 ? StrCat("0", v) : StrCat(v); }

std::string Year(const SynthOptions& o) {
  // The calendar year of the survey month within the school year.
  int first = std::atoi(o.wave.substr(0, 4).c_str());
  return std::to_string(o.survey_month >= 8 ? first : first + 1);
}

std::string IsoTime(const SynthOptions& o, const Pupil& p) {
  return StrCat(Year(o), "-", Two(o.survey_month), "-", Two(p.day), " ",
                Two(p.hour), ":", Two(p.minute), ":00");
}

std::string DutchTime(const SynthOptions& o, const Pupil& p) {
  return StrCat(p.day, "-", o.survey_month, "-", Year(o), " ", p.hour, ":",
                Two(p.minute), ":00");
}

std::string Label(const Instrument& ins, size_t item, uint32_t code) {
  if (code == 0) return "";
  for (const auto& opt : ins.ResponseScaleOf(item).options) {
    if (opt.code == code) return opt.label_nl;
  }
  return std::to_string(code);
}

std::string Email(const Pupil& p) {
  std::string local = StrCat(p.first, ".", p.last);
  std::replace(local.begin(), local.end(), ' ', '.');
  std::transform(local.begin(), local.end(), local.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return StrCat(local, "@leerling.voorbeeldschool.nl");
}

std::string Ip(uint64_t i) {
  return StrCat("10.", (i >> 8) % 256, ".", i % 256, ".", 1 + i % 250);
}

// Appends the special-category cells when the export has them.
void AddSpecial(const SynthOptions& o, const Pupil& p,
                std::vector<std::string>& row) {
  if (o.special_categories) {
    row.push_back(p.migration);
    row.push_back(p.strain);
  }
}

// The documented kring template (docs/import.md).
void WriteKring(const Instrument& ins, const SynthOptions& o,
                const std::vector<Pupil>& pupils, Writer& w) {
  const auto& items = ins.items();
  std::vector<std::string> header = {"pupil_number", "wave",  "survey_month",
                                     "sector",       "track", "grade",
                                     "gender",       "age"};
  if (o.special_categories) {
    header.push_back("migration_background");
    header.push_back("financial_strain");
  }
  for (const auto& it : items) header.push_back(it.id);
  w.Row(header);
  for (const Pupil& p : pupils) {
    std::vector<std::string> row = {
        p.number,        o.wave,   StrCat(o.survey_month), "vo", p.track,
        StrCat(p.grade), p.gender, StrCat(p.age)};
    AddSpecial(o, p, row);
    for (uint32_t a : p.answers) row.push_back(a ? StrCat(a) : "");
    w.Row(row);
  }
}

// LimeSurvey: question codes as headers, answer codes ("A3") as values,
// with the survey tool's own identifying columns.
void WriteLimeSurvey(const Instrument& ins, const SynthOptions& o,
                     const std::vector<Pupil>& pupils, std::mt19937_64& rng,
                     Writer& w) {
  const auto& items = ins.items();
  std::vector<std::string> header = {
      "id",       "submitdate",     "lastpage",  "startlanguage",
      "seed",     "startdate",      "datestamp", "ipaddr",
      "refurl",   "leerlingnummer", "meting",    "sector",
      "leerjaar", "leerweg",        "geslacht",  "leeftijd"};
  if (o.special_categories) {
    header.push_back("migratieachtergrond");
    header.push_back("financiele_krapte");
  }
  for (const auto& it : items) header.push_back(StrCat("belong[", it.id, "]"));
  w.Row(header);
  size_t id = 1;
  for (const Pupil& p : pupils) {
    std::vector<std::string> row = {StrCat(id),
                                    IsoTime(o, p),
                                    "4",
                                    "nl",
                                    StrCat(rng() % 1000000000),
                                    IsoTime(o, p),
                                    IsoTime(o, p),
                                    Ip(id),
                                    "https://enquete.voorbeeldschool.nl/",
                                    p.number,
                                    o.wave,
                                    "vo",
                                    StrCat(p.grade),
                                    p.track,
                                    p.gender,
                                    StrCat(p.age)};
    AddSpecial(o, p, row);
    for (uint32_t a : p.answers) row.push_back(a ? StrCat("A", a) : "");
    w.Row(row);
    ++id;
  }
}

// Microsoft Forms: question texts as headers, answer labels as values,
// names, e-mail and a free-text comment.
void WriteMicrosoftForms(const Instrument& ins, const SynthOptions& o,
                         const std::vector<Pupil>& pupils, std::mt19937_64& rng,
                         Writer& w) {
  const auto& items = ins.items();
  std::vector<std::string> header = {"Id",
                                     "Begintijd",
                                     "Tijd van voltooien",
                                     "E-mail",
                                     "Naam",
                                     "Wat is je leerlingnummer?",
                                     "Meting",
                                     "Sector",
                                     "In welk leerjaar zit je?",
                                     "In welke leerweg zit je?",
                                     "Ik ben een",
                                     "Hoe oud ben je?"};
  if (o.special_categories) {
    header.push_back("migratieachtergrond");
    header.push_back("financiele_krapte");
  }
  for (const auto& it : items) header.push_back(it.text_nl);
  header.push_back("Heb je nog opmerkingen?");
  w.Row(header);
  size_t id = 1;
  for (const Pupil& p : pupils) {
    std::vector<std::string> row = {StrCat(id),
                                    DutchTime(o, p),
                                    DutchTime(o, p),
                                    Email(p),
                                    StrCat(p.first, " ", p.last),
                                    p.number,
                                    o.wave,
                                    "vo",
                                    StrCat(p.grade),
                                    p.track,
                                    p.gender,
                                    StrCat(p.age)};
    AddSpecial(o, p, row);
    for (size_t i = 0; i < p.answers.size(); ++i) {
      row.push_back(Label(ins, i, p.answers[i]));
    }
    row.push_back(kComments[rng() % std::size(kComments)]);
    w.Row(row);
    ++id;
  }
}

// Qualtrics: three header rows (tags, texts, ImportIds), then responses
// with Qualtrics' identifying columns and a free-text comment.
void WriteQualtrics(const Instrument& ins, const SynthOptions& o,
                    const std::vector<Pupil>& pupils, std::mt19937_64& rng,
                    Writer& w) {
  const auto& items = ins.items();
  std::vector<std::string> tags = {"StartDate",
                                   "EndDate",
                                   "Status",
                                   "IPAddress",
                                   "Progress",
                                   "Duration (in seconds)",
                                   "Finished",
                                   "RecordedDate",
                                   "ResponseId",
                                   "RecipientLastName",
                                   "RecipientFirstName",
                                   "RecipientEmail",
                                   "ExternalReference",
                                   "LocationLatitude",
                                   "LocationLongitude",
                                   "DistributionChannel",
                                   "UserLanguage",
                                   "leerlingnummer",
                                   "meting",
                                   "sector",
                                   "leerjaar",
                                   "leerweg",
                                   "geslacht",
                                   "leeftijd"};
  if (o.special_categories) {
    tags.push_back("migratieachtergrond");
    tags.push_back("financiele_krapte");
  }
  std::vector<std::string> texts = tags;
  for (const auto& it : items) {
    tags.push_back(it.id);
    texts.push_back(it.text_nl);
  }
  tags.push_back("opmerkingen");
  texts.push_back("Heb je nog opmerkingen?");
  std::vector<std::string> import_ids;
  for (size_t i = 0; i < tags.size(); ++i) {
    import_ids.push_back(StrCat("{\"ImportId\":\"QID", i + 1, "\"}"));
  }
  w.Row(tags);
  w.Row(texts);
  w.Row(import_ids);
  size_t id = 1;
  for (const Pupil& p : pupils) {
    std::vector<std::string> row = {IsoTime(o, p),
                                    IsoTime(o, p),
                                    "IP Address",
                                    Ip(id),
                                    "100",
                                    StrCat(200 + rng() % 600),
                                    "True",
                                    IsoTime(o, p),
                                    StrCat("R_", rng() % 100000000000),
                                    p.last,
                                    p.first,
                                    Email(p),
                                    "",
                                    StrCat("52.", rng() % 1000),
                                    StrCat("4.", rng() % 1000),
                                    "anonymous",
                                    "NL",
                                    p.number,
                                    o.wave,
                                    "vo",
                                    StrCat(p.grade),
                                    p.track,
                                    p.gender,
                                    StrCat(p.age)};
    AddSpecial(o, p, row);
    for (uint32_t a : p.answers) row.push_back(a ? StrCat(a) : "");
    row.push_back(kComments[rng() % std::size(kComments)]);
    w.Row(row);
    ++id;
  }
}

}  // namespace

std::string SynthesizeExport(const Instrument& ins, const SynthOptions& o) {
  const std::vector<Pupil> pupils = MakePupils(ins, o);
  std::mt19937_64 rng(o.seed ^ 0x5bd1e995);
  Writer w(o);
  switch (o.format) {
    case ExportFormat::kAuto:
    case ExportFormat::kKring:
      WriteKring(ins, o, pupils, w);
      break;
    case ExportFormat::kLimeSurvey:
      WriteLimeSurvey(ins, o, pupils, rng, w);
      break;
    case ExportFormat::kMicrosoftForms:
      WriteMicrosoftForms(ins, o, pupils, rng, w);
      break;
    case ExportFormat::kQualtrics:
      WriteQualtrics(ins, o, pupils, rng, w);
      break;
  }
  return w.Take();
}

}  // namespace kring::node
