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

// The centred matrix n * S - s s' of `block` (n > 0).
Eigen::MatrixXd CentredMatrix(const Layout& layout, const uint64_t* block) {
  const uint64_t n = block[Layout::kStats];
  const auto k = static_cast<Eigen::Index>(layout.columns());
  Eigen::MatrixXd c(k, k);
  for (Eigen::Index i = 0; i < k; ++i) {
    for (Eigen::Index j = i; j < k; ++j) {
      const auto ui = static_cast<size_t>(i), uj = static_cast<size_t>(j);
      c(i, j) = c(j, i) =
          D(Centered(n, block[layout.ProductOffset(ui, uj)],
                     block[layout.SumOffset(ui)], block[layout.SumOffset(uj)]));
    }
  }
  return c;
}

// Replaces the products of `block` by those of the nearest positive
// semidefinite matrix to `c` (Frobenius norm, in the correlation scale
// `scale`), plus a ridge larger than what rounding the products to
// integers can take away (each centred entry moves by at most n/2).
void ProjectProducts(const Layout& layout, const Eigen::MatrixXd& c,
                     const Eigen::VectorXd& scale, uint64_t* block) {
  const Eigen::MatrixXd r = scale.asDiagonal() * c * scale.asDiagonal();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(r);
  const Eigen::VectorXd clipped = es.eigenvalues().cwiseMax(0.0);
  const Eigen::VectorXd unscale = scale.cwiseInverse();
  const Eigen::MatrixXd repaired = unscale.asDiagonal() *
                                   (es.eigenvectors() * clipped.asDiagonal() *
                                    es.eigenvectors().transpose()) *
                                   unscale.asDiagonal();
  const size_t k = layout.columns();
  const auto n = static_cast<long double>(block[Layout::kStats]);
  const long double ridge = static_cast<long double>(k + 1) / 2.0L;
  for (size_t i = 0; i < k; ++i) {
    for (size_t j = i; j < k; ++j) {
      const auto si = static_cast<long double>(block[layout.SumOffset(i)]);
      const auto sj = static_cast<long double>(block[layout.SumOffset(j)]);
      const auto cij = static_cast<long double>(
          repaired(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
      const long double product = (cij + si * sj) / n + (i == j ? ridge : 0.0L);
      // Products are sums of non-negative values.
      block[layout.ProductOffset(i, j)] =
          static_cast<uint64_t>(std::max(0.0L, std::round(product)));
    }
  }
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
  if (n == 0) return;
  // Keeping products non-negative can undo a projection; alternate a few
  // times (what remains is caught by the decoders: a note, no figures).
  for (int round = 0; round < 10; ++round) {
    const Eigen::MatrixXd c = CentredMatrix(layout, block);
    Eigen::VectorXd scale;
    if (PositiveSemidefinite(c, scale)) return;
    ProjectProducts(layout, c, scale, block);
  }
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
