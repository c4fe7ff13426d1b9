#include "query/statistics/cross_products.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

#include "util/str_cat.h"

namespace kring::query::statistics {

void CrossProducts::AddElements(const Query& query, CellBlock& block) const {
  const std::vector<Column> cols = Columns(query, block);
  block.columns = cols.size();
  block.Add("n", 1);
  for (const Column& c : cols) block.Add(StrCat("sum ", c.name), c.max);
  for (size_t i = 0; i < cols.size(); ++i) {
    for (size_t j = i; j < cols.size(); ++j) {
      block.Add(StrCat("sum ", cols[i].name, "*", cols[j].name),
                cols[i].max * cols[j].max);
    }
  }
}

void CrossProducts::AddRecord(const Layout& layout, const v1::PupilRecord& r,
                              std::string_view municipality,
                              std::span<uint64_t> delta) const {
  const size_t k = layout.columns();
  // The sums are contiguous: the record's values go there directly.
  std::span<uint64_t> values = delta.subspan(layout.SumOffset(0), k);
  if (!Values(layout.query(), r, municipality, values)) {
    std::fill(values.begin(), values.end(), 0);
    return;
  }
  delta[Layout::kStats] = 1;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i; j < k; ++j) {
      delta[layout.ProductOffset(i, j)] = values[i] * values[j];
    }
  }
}

uint64_t CrossProducts::Respondents(const Layout&,
                                    const uint64_t* block) const {
  return std::min(block[Layout::kRecords], block[Layout::kStats]);
}

namespace {

// Whether the centred matrix `c` is positive semidefinite, up to rounding:
// its smallest eigenvalue in correlation scale is at least -1e-9 (a zero
// variance is scaled by 1).
bool PositiveSemidefinite(const Eigen::MatrixXd& c, Eigen::VectorXd& scale) {
  const Eigen::Index k = c.rows();
  scale.resize(k);
  for (Eigen::Index i = 0; i < k; ++i) {
    scale(i) = c(i, i) > 0 ? 1.0 / std::sqrt(c(i, i)) : 1.0;
  }
  const Eigen::MatrixXd r = scale.asDiagonal() * c * scale.asDiagonal();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(r);
  return es.info() == Eigen::Success && es.eigenvalues().minCoeff() >= -1e-9;
}

}  // namespace

void CrossProducts::RepairNoisy(const Layout& layout, uint64_t* block) const {
  StatisticKind::RepairNoisy(layout, block);  // records >= n
  const size_t k = layout.columns();
  const uint64_t n = block[Layout::kStats];
  const std::vector<uint64_t>& max = layout.per_record_max();
  for (size_t i = 0; i < k; ++i) {
    const size_t si = layout.SumOffset(i);
    block[si] = std::min(block[si], n * max[si]);
    for (size_t j = i; j < k; ++j) {
      const size_t p = layout.ProductOffset(i, j);
      block[p] = std::min(block[p], n * max[p]);
    }
  }
  for (size_t i = 0; i < k && n > 0; ++i) {
    // Variances not negative: sum x^2 >= (sum x)^2 / n.
    const uint64_t sx = block[layout.SumOffset(i)];
    uint64_t& sxx = block[layout.ProductOffset(i, i)];
    const int128 least = (int128{sx} * sx + n - 1) / n;
    if (int128{sxx} < least) sxx = static_cast<uint64_t>(least);
  }
}

bool CrossProducts::MakePositiveSemidefinite(
    std::vector<std::vector<int128>>& c, std::span<const size_t> columns) {
  const auto k = static_cast<Eigen::Index>(columns.size());
  Eigen::MatrixXd m(k, k);
  for (Eigen::Index i = 0; i < k; ++i) {
    for (Eigen::Index j = 0; j < k; ++j) {
      m(i, j) = D(
          c[columns[static_cast<size_t>(i)]][columns[static_cast<size_t>(j)]]);
    }
  }
  Eigen::VectorXd scale;
  if (PositiveSemidefinite(m, scale)) return false;
  // The nearest positive semidefinite matrix (Frobenius norm) in
  // correlation scale, scaled back; rounding it to integers moves each
  // entry by at most 1/2, which a ridge of k on the diagonal covers.
  const Eigen::MatrixXd r = scale.asDiagonal() * m * scale.asDiagonal();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(r);
  const Eigen::VectorXd unscale = scale.cwiseInverse();
  const Eigen::MatrixXd repaired =
      unscale.asDiagonal() *
      (es.eigenvectors() * es.eigenvalues().cwiseMax(0.0).asDiagonal() *
       es.eigenvectors().transpose()) *
      unscale.asDiagonal();
  for (Eigen::Index i = 0; i < k; ++i) {
    for (Eigen::Index j = 0; j < k; ++j) {
      c[columns[static_cast<size_t>(i)]][columns[static_cast<size_t>(j)]] =
          static_cast<int128>(std::round(repaired(i, j))) +
          (i == j ? static_cast<int128>(k) : 0);
    }
  }
  return true;
}

std::vector<std::vector<long double>> CrossProducts::CentredReal(
    const Layout& layout, std::span<const long double> x) {
  const size_t k = layout.columns();
  const long double n = x[Layout::kStats];
  std::vector<std::vector<long double>> c(k, std::vector<long double>(k));
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i; j < k; ++j) {
      c[i][j] = c[j][i] = n * x[layout.ProductOffset(i, j)] -
                          x[layout.SumOffset(i)] * x[layout.SumOffset(j)];
    }
  }
  return c;
}

absl::Status CrossProducts::Centred(const Layout& layout, const uint64_t* block,
                                    CellFigures& out, uint64_t& n,
                                    std::vector<std::vector<int128>>& c) {
  n = block[Layout::kStats];
  if (auto s = out.CheckRespondents(n); !s.ok()) return s;
  const size_t k = layout.columns();
  c.assign(k, std::vector<int128>(k));
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i; j < k; ++j) {
      c[i][j] = c[j][i] =
          Centered(n, block[layout.ProductOffset(i, j)],
                   block[layout.SumOffset(i)], block[layout.SumOffset(j)]);
    }
    if (c[i][i] < 0) {
      return absl::InvalidArgumentError(
          StrCat("cell ", out.cell().name, ": inconsistent sums of squares"));
    }
  }
  out.Respondents(n);
  return absl::OkStatus();
}

}  // namespace kring::query::statistics
