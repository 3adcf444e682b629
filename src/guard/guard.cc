// guard::Guard implementation. See guard.h for the contract and
// docs/guard.md for the signals, the scoring and the state format.
//
// Layout: accounts live in kShards shards (mutex + flat hash map), each
// account with a minute-bucket ring for the sliding window, a bounded map of
// people it touched (last read / last listed minute), a log-bucketed
// histogram of its per-window peaks over the baseline horizon, and small
// enumeration/network state. Peer groups hold the aggregated histogram and
// publish their reference through an atomic. Under-alert/suspended accounts
// live in one map guarded by alert_mu_; an epoch counter lets each account
// cache its own and its creator's status so the common path takes no extra
// lock.
//
// Lock order (never reversed): shard (ascending) -> registry_mu_ ->
// groups_mu_ -> Group::mu -> alert_mu_ -> alerts_mu_ -> honey_mu_.
#include "guard/guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/strings.h"
#include "guard/seen_table.h"
#include "guard/local_time.h"

namespace cloison::guard {

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kAllow: return "allow";
    case Action::kRecord: return "record";
    case Action::kAlert: return "alert";
    case Action::kStepUp: return "step_up";
    case Action::kThrottle: return "throttle";
    case Action::kSuspend: return "suspend";
  }
  return "allow";
}

std::optional<Action> ParseAction(std::string_view s) {
  for (Action a : {Action::kAllow, Action::kRecord, Action::kAlert, Action::kStepUp, Action::kThrottle,
                   Action::kSuspend})
    if (ActionName(a) == s) return a;
  return std::nullopt;
}

std::string_view AccessKindName(AccessKind k) {
  switch (k) {
    case AccessKind::kRead: return "read";
    case AccessKind::kReveal: return "reveal";
    case AccessKind::kSearch: return "search";
    case AccessKind::kList: return "list";
    case AccessKind::kDenied: return "denied";
  }
  return "read";
}

namespace {

using json = nlohmann::json;

constexpr int kShards = 16;
constexpr int kHistBuckets = 96;
constexpr int kPeriods = 6;
constexpr size_t kMaxQueries = 512;
constexpr size_t kMaxColleagues = 256;  // colleagues remembered per account (spread saturates there)
constexpr size_t kMaxAlerts = 100'000;
constexpr int32_t kNoPeriod = INT32_MIN;

// --- Log-bucketed histogram: exact below 16, then 8 buckets per octave, up
// to 16383 (larger values land in the last bucket).
int HistBucket(uint32_t v) {
  if (v < 16) return static_cast<int>(v);
  int e = 31 - std::countl_zero(v);
  int idx = 16 + (e - 4) * 8 + static_cast<int>((v >> (e - 3)) & 7);
  return std::min(idx, kHistBuckets - 1);
}
double BucketUpper(int b) {
  if (b < 16) return b;
  int e = (b - 16) / 8 + 4, sub = (b - 16) % 8;
  return static_cast<double>(((8 + sub + 1) << (e - 3)) - 1);
}

// Per-window peaks over the baseline horizon, in kPeriods rotating periods.
template <typename C>
struct PeriodHist {
  std::array<int32_t, kPeriods> period;
  std::array<std::array<C, kHistBuckets>, kPeriods> counts{};
  PeriodHist() { period.fill(kNoPeriod); }

  void Add(int32_t p, uint32_t v) {
    int slot = static_cast<int>(((p % kPeriods) + kPeriods) % kPeriods);
    if (period[slot] != p) {
      if (period[slot] != kNoPeriod && period[slot] > p) return;  // older than the slot's data
      period[slot] = p;
      counts[slot].fill(0);
    }
    C& c = counts[slot][HistBucket(v)];
    if (c < std::numeric_limits<C>::max()) ++c;
  }
  bool Live(int s, int32_t cur) const { return period[s] != kNoPeriod && period[s] <= cur && period[s] > cur - kPeriods; }
  uint64_t Total(int32_t cur) const {
    uint64_t t = 0;
    for (int s = 0; s < kPeriods; ++s)
      if (Live(s, cur))
        for (C c : counts[s]) t += c;
    return t;
  }
  double P99(int32_t cur) const {
    std::array<uint64_t, kHistBuckets> sum{};
    uint64_t total = 0;
    for (int s = 0; s < kPeriods; ++s)
      if (Live(s, cur))
        for (int b = 0; b < kHistBuckets; ++b) sum[b] += counts[s][b], total += counts[s][b];
    if (total == 0) return 0;
    uint64_t target = (total * 99 + 99) / 100, cum = 0;
    for (int b = 0; b < kHistBuckets; ++b) {
      cum += sum[b];
      if (cum >= target) return BucketUpper(b);
    }
    return BucketUpper(kHistBuckets - 1);
  }
  json ToJson() const {
    json j = json::object();
    j["period"] = period;
    j["counts"] = counts;
    return j;
  }
  void FromJson(const json& j) {
    auto p = j.at("period").get<std::vector<int32_t>>();
    auto c = j.at("counts").get<std::vector<std::vector<uint64_t>>>();
    if (p.size() != kPeriods || c.size() != kPeriods) throw std::runtime_error("histogram shape");
    for (int s = 0; s < kPeriods; ++s) {
      period[s] = p[s];
      if (c[s].size() != kHistBuckets) throw std::runtime_error("histogram shape");
      for (int b = 0; b < kHistBuckets; ++b)
        counts[s][b] = static_cast<C>(std::min<uint64_t>(c[s][b], std::numeric_limits<C>::max()));
    }
  }
};

struct Group {
  std::string key;
  double prior = 10;
  std::mutex mu;
  PeriodHist<uint32_t> hist;
  int64_t first_min = -1;
  uint64_t adds = 0;  // windows added (running count)
  double observed_p99 = 0;
  bool observed = false;  // the observed p99 replaced the prior
  std::atomic<double> reference{10};
  std::atomic<bool> reference_observed{false};  // for explanations: "peers' p99" vs "prior"
};

// One minute of the sliding window; 16 bytes so a 10-minute ring is 2.5
// cache lines. Counts saturate at 65535 per minute.
struct Bucket {
  int32_t minute = -1;  // unix minute (int32 lasts until year 6053)
  uint16_t read = 0, list = 0, volume = 0, new_read = 0, denied = 0, seq = 0;
};
inline void Inc(uint16_t& c, uint32_t n = 1) { c = static_cast<uint16_t>(std::min<uint32_t>(c + n, 65535)); }

struct QueryEntry {
  int64_t minute;
  uint64_t type;
  uint64_t value;
};

struct Network {
  uint64_t key;
  int64_t first_min;  // INT64_MIN: the account's first network (never "new")
};

// The fields every access touches come first, with a short window's ring
// inline, so that one account's hot state is a few adjacent cache lines
// (the guard's working set is not in cache: bench/guard_bench.cc).
struct AccountState {
  static constexpr size_t kInlineRing = 16;  // windows up to 16 minutes: no separate allocation
  int64_t first_min = -1, last_min = 0;
  int64_t cur_wi = -1;
  uint32_t cur_peak = 0;
  Bucket* ring = nullptr;  // ring_inline or ring_heap; GuardImpl::wmin_ buckets
  SeenTable seen;
  bool registered = false;
  Group* group = nullptr;
  OffsetSpan span{0, 1, 0};  // empty: computed on first use
  int64_t created_min = 0;   // 0: unknown
  std::unique_ptr<PeriodHist<uint16_t>> hist = std::make_unique<PeriodHist<uint16_t>>();  // cold: out of line
  double own_p99 = 0;
  uint64_t own_windows = 0;
  bool own_dirty = true;  // own_p99/own_windows to recompute (lazily, only when they matter)
  int64_t last_person = 0;
  uint64_t page_key = 0;
  int64_t last_page = -1, page_min = 0, page_run = 0;
  std::vector<QueryEntry> queries;
  std::string last_source;
  uint64_t last_net = 0;
  int64_t last_net_new_until = 0;  // minute until which last_net counts as new (fast path)
  bool last_net_known = false;
  std::vector<Network> networks;
  // Spread: colleagues (referent counsellors) whose people it read, with the
  // last minute; the day's peak and a histogram of daily peaks (allocated on
  // the first colleague read: most accounts of a kind never need it).
  struct Colleague {
    int64_t id;
    int64_t last_min;
  };
  std::vector<Colleague> colleagues;
  bool spread_applies = false;  // a human counsellor (someone with a caseload of their own)
  int64_t spread_day = -1;
  uint32_t spread_peak = 0;
  std::unique_ptr<PeriodHist<uint16_t>> spread_hist;
  // Escalation: refusal episodes (see GuardConfig::refusal_episodes_to_suspend).
  bool allowed_since_refusal = true;  // an access went through since the last refusal
  int32_t episodes = 0;               // refusal episodes since episodes_since_min
  int64_t episodes_since_min = 0;     // first minute of the first counted episode
  int64_t last_episode_min = 0;       // first minute of the latest episode
  // Cached from the under-alert map (valid while epoch matches).
  uint64_t epoch = ~uint64_t{0};
  bool suspended = false;
  bool creator_under_alert = false;
  int64_t creator_alerted = 0;
  int64_t creator_because = 0;  // the creator is under alert because of this account (0: its own alert)
  std::array<Bucket, kInlineRing> ring_inline;  // right after the hot scalars
  // Cold: read on registration, when the offset span expires, in explanations.
  std::vector<Bucket> ring_heap;
  ZoneRule zone;
  AccountProfile profile;
};

// A shard's lock: held for one access's update (a few hundred nanoseconds),
// so a waiter spins briefly rather than sleeping in the kernel; it yields the
// core after a while (the holder may have been preempted: 2 cores). Cheaper
// than a std::mutex uncontended too (no call, one exchange, one store).
class ShardLock {
 public:
  void lock() {
    for (int spins = 0; flag_.exchange(true, std::memory_order_acquire); ++spins) {
      while (flag_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
          __builtin_ia32_pause();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  void unlock() { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

// A shard's entry for one account: the state, and where its seen table's
// slots were after the account's last access, so that Process can prefetch
// a person's slot together with the state (see SeenTable::Hint).
struct AccountSlot {
  std::unique_ptr<AccountState> state;
  SeenTable::Hint seen;
  AccountSlot() = default;
  AccountSlot(std::unique_ptr<AccountState> s) : state(std::move(s)) {}  // NOLINT: implicit on purpose
  AccountState& operator*() const { return *state; }
};
using AccountMap = absl::flat_hash_map<int64_t, AccountSlot>;

struct UnderAlertEntry {
  UnixMicros since = 0;
  UnixMicros until = 0;  // for non-suspended alerts
  bool suspended = false;
  int64_t because = 0;   // under alert by association: the account it created/approved that was flagged
};

// What one access did to the window, for scoring.
struct Features {
  int64_t minute = 0;
  uint32_t d_read = 0, d_list = 0, volume = 0, new_read = 0, denied = 0, seq = 0;
  int64_t page_run = 0;
  uint32_t search_distinct = 0;
  std::string_view search_type;
  uint32_t spread = 0;  // set only on a read of a colleague's person
  bool new_network = false;
  bool off_hours = false, night = false;
  LocalMinute local;
  std::optional<PersonId> honeytoken;
};

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}
uint64_t HashStr(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The network of a client address: IPv4 /24, IPv6 /48; anything else is its
// own network. Accepts "a.b.c.d", "a.b.c.d:port", "x::y", "[x::y]:port".
uint64_t NetworkKey(std::string_view src) {
  std::string host;
  if (!src.empty() && src.front() == '[') {
    size_t close = src.find(']');
    host = std::string(src.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1));
  } else if (std::count(src.begin(), src.end(), ':') == 1) {
    host = std::string(src.substr(0, src.find(':')));
  } else {
    host = std::string(src);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1)
    return (uint64_t{4} << 56) | (uint64_t{buf[0]} << 16) | (uint64_t{buf[1]} << 8) | buf[2];
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    uint64_t k = uint64_t{6} << 56;
    for (int i = 0; i < 6; ++i) k |= uint64_t{buf[i]} << (8 * (5 - i));
    return k;
  }
  return (HashStr(src) & 0x00ffffffffffffffULL) | (uint64_t{0xee} << 56);
}

std::string GroupKey(const AccountProfile& p) {
  std::string role = p.technical ? "technical" : p.roles.empty() ? "*" : std::string(RoleName(p.roles.front()));
  return StrCat(role, ":", StructureKindName(p.structure_kind));
}

// (std::to_chars, not snprintf: an explanation is built for every verdict
// at or above record_at, on the request path.)
std::string Fmt(double v) {
  char buf[64];
  const int decimals = v == std::floor(v) && std::fabs(v) < 1e12 ? 0 : 1;
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  if (r.ec != std::errc()) return "?";
  return std::string(buf, r.ptr);
}

constexpr std::array<std::string_view, 7> kWeekdays = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                                        "Friday", "Saturday", "Sunday"};

std::string Hhmm(int minute_of_day) {
  const int h = minute_of_day / 60, m = minute_of_day % 60;
  if (minute_of_day < 0 || h > 99) return "??:??";
  return {static_cast<char>('0' + h / 10), static_cast<char>('0' + h % 10), ':', static_cast<char>('0' + m / 10),
          static_cast<char>('0' + m % 10)};
}

json ProfileToJson(const AccountProfile& p) {
  json j;
  j["account"] = p.account.value();
  j["technical"] = p.technical;
  j["structure"] = p.structure.value();
  j["structure_kind"] = std::string(StructureKindName(p.structure_kind));
  std::vector<std::string> roles;
  for (Role r : p.roles) roles.emplace_back(RoleName(r));
  j["roles"] = roles;
  j["created_at"] = p.created_at;
  j["probation"] = p.probation;
  j["created_by"] = p.created_by ? p.created_by->value() : 0;
  j["approved_by"] = p.approved_by ? p.approved_by->value() : 0;
  j["time_zone"] = p.time_zone;
  j["hours"] = {p.hours.open_minute, p.hours.close_minute, p.hours.weekdays};
  return j;
}

AccountProfile ProfileFromJson(const json& j) {
  AccountProfile p;
  p.account = AccountId(j.at("account").get<int64_t>());
  p.technical = j.at("technical").get<bool>();
  p.structure = StructureId(j.at("structure").get<int64_t>());
  auto kind = ParseStructureKind(j.at("structure_kind").get<std::string>());
  if (!kind) throw std::runtime_error("structure kind");
  p.structure_kind = *kind;
  for (const auto& r : j.at("roles")) {
    auto role = ParseRole(r.get<std::string>());
    if (!role) throw std::runtime_error("role");
    p.roles.push_back(*role);
  }
  p.created_at = j.at("created_at").get<int64_t>();
  p.probation = j.at("probation").get<bool>();
  if (int64_t v = j.at("created_by").get<int64_t>()) p.created_by = AccountId(v);
  if (int64_t v = j.at("approved_by").get<int64_t>()) p.approved_by = AccountId(v);
  p.time_zone = j.at("time_zone").get<std::string>();
  auto h = j.at("hours").get<std::vector<int64_t>>();
  if (h.size() != 3) throw std::runtime_error("hours");
  p.hours.open_minute = static_cast<int>(h[0]);
  p.hours.close_minute = static_cast<int>(h[1]);
  p.hours.weekdays = static_cast<uint8_t>(h[2]);
  return p;
}

constexpr std::string_view kMagic = "CLOISON-GUARD-STATE";
constexpr int kStateVersion = 1;

class GuardImpl final : public Guard {
 public:
  GuardImpl(GuardConfig config, const Clock& clock)
      : c_(std::move(config)), clock_(clock), wmin_(std::max<int64_t>(1, c_.window_seconds / 60)),
        period_days_(std::max(1, c_.baseline_days / (kPeriods - 1))) {}

  // ------------------------------------------------------------------ registry
  void RegisterAccount(const AccountProfile& profile) override {
    const int64_t id = profile.account.value();
    {
      std::unique_lock lock(registry_mu_);
      auto old = profiles_.find(id);
      if (old != profiles_.end()) Unlink(old->second);
      profiles_[id] = profile;
      Link(profile);
    }
    Group* g = GroupFor(GroupKey(profile));
    Shard& sh = ShardOf(id);
    std::lock_guard lock(sh.mu);
    AccountState& st = GetOrCreate(sh, id);
    ApplyProfile(st, profile, g);
  }

  void AddHoneytoken(PersonId person) override {
    std::unique_lock lock(honey_mu_);
    honeytokens_.insert(person.value());
    honey_count_.store(honeytokens_.size(), std::memory_order_relaxed);
  }
  bool IsHoneytoken(PersonId person) const override {
    if (honey_count_.load(std::memory_order_relaxed) == 0) return false;
    std::shared_lock lock(honey_mu_);
    return honeytokens_.contains(person.value());
  }

  // ------------------------------------------------------------------ assess
  Verdict Assess(const Access& a) override { return Process(a, /*score=*/true); }
  void Observe(const Access& a) override { Process(a, /*score=*/false); }

  bool UnderAlert(AccountId account) const override {
    std::shared_lock lock(alert_mu_);
    return UnderAlertLocked(account.value());
  }

  std::vector<Alert> Alerts(UnixMicros since) const override {
    std::lock_guard lock(alerts_mu_);
    std::vector<Alert> out;
    for (const Alert& a : alerts_)
      if (a.time >= since || a.last_time >= since) out.push_back(a);
    return out;
  }

  void Clear(AccountId account) override {
    const int64_t id = account.value();
    Shard& sh = ShardOf(id);
    std::lock_guard lock(sh.mu);
    {
      std::unique_lock al(alert_mu_);
      under_alert_.erase(id);
      epoch_.fetch_add(1, std::memory_order_release);
    }
    auto it = sh.accounts.find(id);
    if (it == sh.accounts.end()) return;
    AccountState& st = *it->second;
    for (Bucket& b : Ring(st)) b = Bucket{};
    st.cur_peak = 0;
    st.page_run = 0;
    st.last_page = -1;
    st.queries.clear();
    st.last_person = 0;
    st.suspended = false;
    st.episodes = 0;
    st.allowed_since_refusal = true;
    st.colleagues.clear();
    st.spread_peak = 0;
  }

  // ------------------------------------------------------------------ state
  Status SaveState(std::string* out) const override;
  Status LoadState(std::string_view in) override;

 private:
  struct Shard {
    mutable ShardLock mu;
    AccountMap accounts;
  };

  Shard& ShardOf(int64_t id) { return shards_[Mix(static_cast<uint64_t>(id)) % kShards]; }

  void AllocateRing(AccountState& st) const {
    if (static_cast<size_t>(wmin_) <= AccountState::kInlineRing) {
      st.ring = st.ring_inline.data();
    } else {
      st.ring_heap.assign(static_cast<size_t>(wmin_), Bucket{});
      st.ring = st.ring_heap.data();
    }
  }
  std::span<Bucket> Ring(AccountState& st) const { return {st.ring, static_cast<size_t>(wmin_)}; }
  std::span<const Bucket> Ring(const AccountState& st) const { return {st.ring, static_cast<size_t>(wmin_)}; }

  AccountState& GetOrCreate(Shard& sh, int64_t id) { return *GetOrCreateSlot(sh, id).state; }
  AccountSlot& GetOrCreateSlot(Shard& sh, int64_t id) {
    auto [it, inserted] = sh.accounts.try_emplace(id);
    if (inserted) {
      it->second.state = std::make_unique<AccountState>();
      AccountState& st = *it->second.state;
      st.profile.account = AccountId(id);
      AllocateRing(st);
      st.zone = ResolveZone(st.profile.time_zone);
      st.group = GroupFor(GroupKey(st.profile));
    }
    return it->second;
  }

  void ApplyProfile(AccountState& st, const AccountProfile& p, Group* g) {
    st.profile = p;
    st.registered = true;
    st.group = g;
    st.zone = ResolveZone(p.time_zone);
    st.span = OffsetSpan{0, 1, 0};
    st.created_min = p.created_at > 0 ? p.created_at / 60'000'000 : 0;
    st.spread_applies = !p.technical && std::find(p.roles.begin(), p.roles.end(), Role::kCounsellor) != p.roles.end();
    st.epoch = ~uint64_t{0};  // creator may have changed
  }

  void Link(const AccountProfile& p) {
    if (p.created_by) children_[p.created_by->value()].push_back(p.account.value());
    if (p.approved_by && (!p.created_by || *p.approved_by != *p.created_by))
      children_[p.approved_by->value()].push_back(p.account.value());
  }
  void Unlink(const AccountProfile& p) {
    for (auto parent : {p.created_by, p.approved_by}) {
      if (!parent) continue;
      auto it = children_.find(parent->value());
      if (it == children_.end()) continue;
      auto& v = it->second;
      v.erase(std::remove(v.begin(), v.end(), p.account.value()), v.end());
    }
  }

  double PriorFor(std::string_view key) const {
    auto find = [&](std::string_view k) -> std::optional<double> {
      for (const auto& [pk, v] : c_.peer_priors)
        if (pk == k) return v;
      return std::nullopt;
    };
    size_t colon = key.find(':');
    std::string role(key.substr(0, colon)), kind(key.substr(colon + 1));
    for (const std::string& k : {std::string(key), role + ":*", "*:" + kind, std::string("*")})
      if (auto v = find(k)) return *v;
    return std::max(10.0, c_.min_reference);
  }

  Group* GroupFor(const std::string& key) {
    std::lock_guard lock(groups_mu_);
    auto& g = groups_[key];
    if (!g) {
      g = std::make_unique<Group>();
      g->key = key;
      g->prior = PriorFor(key);
      g->reference.store(g->prior, std::memory_order_relaxed);
    }
    return g.get();
  }

  // `account` is registered with `structure` (shared registry lock; after
  // the shard lock in the lock order).
  bool SameStructure(int64_t account, StructureId structure) const {
    std::shared_lock lock(registry_mu_);
    auto it = profiles_.find(account);
    return it != profiles_.end() && it->second.structure == structure;
  }

  int32_t PeriodOfMinute(int64_t minute) const { return static_cast<int32_t>(minute / 1440 / period_days_); }

  // A tumbling window closed: its peak distinct-read count goes into the
  // account's and the peer group's baselines.
  void RecordWindow(AccountState& st, int64_t window_index, int64_t now_min) {
    const int64_t wmin = window_index * wmin_;
    const int32_t p = PeriodOfMinute(wmin), cur = PeriodOfMinute(now_min);
    st.hist->Add(p, st.cur_peak);
    st.own_dirty = true;
    Group& g = *st.group;
    std::lock_guard lock(g.mu);
    if (g.first_min < 0) g.first_min = wmin;
    g.hist.Add(p, st.cur_peak);
    ++g.adds;
    // Readiness from the running count (cheap); the p99 is recomputed every
    // 64 windows once the group is observed.
    bool became = false;
    if (!g.observed && g.adds >= static_cast<uint64_t>(c_.peer_min_windows) &&
        now_min - g.first_min >= int64_t{c_.min_history_days} * 1440)
      g.observed = became = true;
    if (g.observed && (became || g.adds % 64 == 0)) {
      g.observed_p99 = g.hist.P99(cur);
      g.reference.store(g.observed_p99, std::memory_order_relaxed);
      g.reference_observed.store(true, std::memory_order_relaxed);
    }
  }

  bool UnderAlertLocked(int64_t id) const {
    auto it = under_alert_.find(id);
    if (it == under_alert_.end()) return false;
    return it->second.suspended || it->second.until > now_.load(std::memory_order_relaxed);
  }

  void RefreshAlertCache(AccountState& st, int64_t id) {
    uint64_t e = epoch_.load(std::memory_order_acquire);
    if (st.epoch == e) return;
    std::shared_lock lock(alert_mu_);
    auto it = under_alert_.find(id);
    st.suspended = it != under_alert_.end() && it->second.suspended;
    st.creator_under_alert = false;
    for (auto parent : {st.profile.created_by, st.profile.approved_by})
      // (A creator under alert only because of this very account does not
      // make it more suspicious: that would feed on itself.)
      if (parent && UnderAlertLocked(parent->value()) && under_alert_.at(parent->value()).because != id) {
        st.creator_under_alert = true;
        st.creator_alerted = parent->value();
        st.creator_because = under_alert_.at(parent->value()).because;
      }
    st.epoch = e;
  }

  void Touch(AccountState& st, const Access& a, Features& f);
  Verdict Score(AccountState& st, const Access& a, const Features& f);
  void Explain(const AccountState& st, const Features& f, const struct Points& pts, Verdict& v) const;
  void RaiseAlert(const Access& a, const Verdict& v);

  Verdict Process(const Access& a, bool score) {
    const int64_t id = a.account.value();
    // The guard's notion of "now" (for under-alert expiry): coarse, so the
    // shared cache line is written about once a second, not per access.
    int64_t prev = now_.load(std::memory_order_relaxed);
    while (a.time > prev + 1'000'000 && !now_.compare_exchange_weak(prev, a.time, std::memory_order_relaxed)) {
    }
    Shard& sh = ShardOf(id);
    std::lock_guard lock(sh.mu);
    AccountSlot& slot = GetOrCreateSlot(sh, id);
    AccountState& st = *slot.state;
    // The account's state is rarely in cache (thousands of accounts, each
    // touched about once a minute) and an access reads most of its lines:
    // ask for all of them at once, and for the people's seen slots (through
    // the hint, without waiting for the state), so that the misses overlap
    // instead of following one another.
    {
      if (a.kind != AccessKind::kDenied)
        for (PersonId p : a.persons) SeenTable::Prefetch(slot.seen, p.value());
      const char* base = reinterpret_cast<const char*>(&st);
      for (size_t off = 0; off < sizeof(AccountState); off += 64) __builtin_prefetch(base + off);
    }
    struct UpdateHint {
      AccountSlot& slot;
      ~UpdateHint() { slot.seen = slot.state->seen.hint(); }
    } update_hint{slot};
    if (score) {
      RefreshAlertCache(st, id);
      if (st.suspended) {
        Verdict v;
        v.action = Action::kSuspend;
        v.score = c_.suspend_at;
        v.explanation = "the account is suspended by the guard; every access is refused until it is reinstated";
        v.signals.emplace_back("suspended");
        return v;
      }
    }
    Features f;
    Touch(st, a, f);
    if (!score) return {};
    return Score(st, a, f);
  }

  GuardConfig c_;
  const Clock& clock_;
  const int64_t wmin_;      // window length in minutes (= ring size)
  const int period_days_;   // days per histogram period
  std::array<Shard, kShards> shards_;

  mutable std::shared_mutex registry_mu_;
  absl::flat_hash_map<int64_t, AccountProfile> profiles_;
  absl::flat_hash_map<int64_t, std::vector<int64_t>> children_;  // created/approved by

  mutable std::mutex groups_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<Group>> groups_;

  mutable std::shared_mutex alert_mu_;
  absl::flat_hash_map<int64_t, UnderAlertEntry> under_alert_;
  // Networks new to an account that was then flagged (>= kAlert): network
  // key -> (until, flagged account). Another account showing up from one of
  // them is likely the same attacker (extraction split across accounts).
  struct FlaggedNetwork {
    UnixMicros until = 0;
    int64_t account = 0;
  };
  absl::flat_hash_map<uint64_t, FlaggedNetwork> flagged_networks_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int64_t> now_{0};

  mutable std::mutex alerts_mu_;
  std::vector<Alert> alerts_;
  absl::flat_hash_map<int64_t, size_t> last_alert_;  // account -> index in alerts_
  uint64_t next_alert_id_ = 1;

  mutable std::shared_mutex honey_mu_;
  absl::flat_hash_set<int64_t> honeytokens_;
  std::atomic<size_t> honey_count_{0};
};

// ------------------------------------------------------------------ update

void GuardImpl::Touch(AccountState& st, const Access& a, Features& f) {
  const int64_t sec = a.time > 0 ? a.time / 1'000'000 : 0;
  int64_t m = std::max<int64_t>(sec / 60, st.last_min);
  if (m <= 0) m = 1;
  st.last_min = m;
  f.minute = m;
  if (st.first_min < 0) st.first_min = m;

  // Tumbling window for the baselines.
  const int64_t wi = m / wmin_;
  if (wi != st.cur_wi) {
    if (st.cur_wi >= 0 && st.cur_peak > 0) RecordWindow(st, st.cur_wi, m);
    st.cur_wi = wi;
    st.cur_peak = 0;
  }

  Bucket& b = st.ring[static_cast<size_t>(m % wmin_)];
  if (b.minute != m) b = Bucket{static_cast<int32_t>(m)};
  const int64_t horizon = m - wmin_;  // minutes > horizon are in the window
  auto move_from = [&](uint32_t last, uint16_t Bucket::*field) {
    if (last == static_cast<uint32_t>(m)) return;  // already counted this minute
    if (last > horizon) {
      Bucket& ob = st.ring[static_cast<size_t>(last % wmin_)];
      if (ob.minute == static_cast<int32_t>(last) && ob.*field > 0) --(ob.*field);
    }
    Inc(b.*field);
  };

  const bool is_read = a.kind == AccessKind::kRead || a.kind == AccessKind::kReveal;
  const bool is_list = a.kind == AccessKind::kSearch || a.kind == AccessKind::kList;
  // A decoy in a search result is not enough (a search by birth date may
  // show one to anybody); opening it, or a bulk listing that shows it, is.
  // A denied attempt at a decoy id is not one either (a mistyped id).
  const bool check_honey = a.kind != AccessKind::kSearch && a.kind != AccessKind::kDenied &&
                           honey_count_.load(std::memory_order_relaxed) > 0;
  // (Every person's slot was prefetched by Process.)
  for (PersonId p : a.persons) {
    const int64_t pid = p.value();
    if (check_honey && !f.honeytoken && IsHoneytoken(p)) f.honeytoken = p;
    if (is_list) {
      Seen& s = st.seen[pid];
      move_from(s.last_list, &Bucket::list);
      s.last_list = static_cast<uint32_t>(m);
      continue;
    }
    Inc(b.volume);
    if (!is_read) Inc(b.denied);
    Seen* sp = is_read ? &st.seen[pid] : nullptr;
    // Sequential ids: denied probes, and reads of people this account was
    // never shown (reading down a listing it received is navigation, not
    // enumeration, even when the ids are consecutive).
    if (st.last_person != 0 && (!is_read || (sp->last_read == 0 && sp->last_list == 0))) {
      int64_t d = pid > st.last_person ? pid - st.last_person : st.last_person - pid;
      if (d >= 1 && d <= c_.sequential_max_gap) Inc(b.seq);
    }
    st.last_person = pid;
    if (is_read) {
      Seen& s = *sp;
      if (s.last_read == 0) Inc(b.new_read);
      move_from(s.last_read, &Bucket::read);
      s.last_read = static_cast<uint32_t>(m);
    }
  }
  if (a.kind == AccessKind::kDenied && a.persons.empty()) Inc(b.denied);

  // Bound the people remembered.
  if (st.seen.size() > static_cast<size_t>(c_.max_seen_people)) {
    const int64_t cutoff = m - int64_t{c_.baseline_days} * 1440;
    st.seen.EraseIf([&](int64_t, const Seen& x) { return std::max(x.last_read, x.last_list) < cutoff; });
    if (st.seen.size() > static_cast<size_t>(c_.max_seen_people) * 3 / 4) {
      std::vector<uint32_t> stamps;
      stamps.reserve(st.seen.size());
      st.seen.ForEach([&](int64_t, const Seen& x) { stamps.push_back(std::max(x.last_read, x.last_list)); });
      auto nth = stamps.begin() + static_cast<ptrdiff_t>(stamps.size() / 4);
      std::nth_element(stamps.begin(), nth, stamps.end());
      const uint32_t limit = *nth;
      st.seen.EraseIf([&](int64_t, const Seen& x) { return std::max(x.last_read, x.last_list) < limit; });
    }
  }

  // Window sums.
  for (const Bucket& x : Ring(st)) {
    if (x.minute <= horizon) continue;
    f.d_read += x.read;
    f.d_list += x.list;
    f.volume += x.volume;
    f.new_read += x.new_read;
    f.denied += x.denied;
    f.seq += x.seq;
  }
  st.cur_peak = std::max(st.cur_peak, f.d_read);

  // Spread (files of colleagues' caseloads), with its daily baseline.
  const int64_t day = m / 1440;
  if (day != st.spread_day) {
    if (st.spread_day >= 0 && st.spread_hist) st.spread_hist->Add(PeriodOfMinute(st.spread_day * 1440), st.spread_peak);
    st.spread_day = day;
    st.spread_peak = 0;
  }
  // Only counsellors have colleagues' caseloads to stray into: partners and
  // integrations read candidates followed by counsellors everywhere. A
  // colleague is a counsellor of the same structure.
  // A colleague already in the list was checked when it entered it: the
  // registry lock is taken only for a referent not seen in the last day.
  auto colleague = st.colleagues.end();
  bool counts = false;
  if (is_read && st.spread_applies && a.referent.valid() && a.referent != a.account) {
    colleague = std::find_if(st.colleagues.begin(), st.colleagues.end(),
                             [&](const AccountState::Colleague& c) { return c.id == a.referent.value(); });
    counts = colleague != st.colleagues.end() || SameStructure(a.referent.value(), st.profile.structure);
  }
  if (counts) {
    const int64_t cutoff = m - std::max<int64_t>(1, c_.spread_window_seconds / 60);
    if (colleague != st.colleagues.end()) {
      colleague->last_min = m;
    } else {
      if (st.colleagues.size() >= kMaxColleagues) {
        auto oldest = std::min_element(st.colleagues.begin(), st.colleagues.end(),
                                       [](const auto& x, const auto& y) { return x.last_min < y.last_min; });
        *oldest = {a.referent.value(), m};
      } else {
        st.colleagues.push_back({a.referent.value(), m});
      }
    }
    uint32_t n = 0;
    for (const auto& c : st.colleagues) n += c.last_min > cutoff;
    f.spread = n;
    st.spread_peak = std::max(st.spread_peak, n);
    if (!st.spread_hist) {
      st.spread_hist = std::make_unique<PeriodHist<uint16_t>>();
      // Days before the first colleague read had none: they count as zeros,
      // so a first burst is not its own baseline.
      for (int64_t d = std::max(st.first_min / 1440, day - c_.baseline_days); d < day; ++d)
        st.spread_hist->Add(PeriodOfMinute(d * 1440), 0);
    }
  }

  // Paging and search sweeps.
  if (is_list) {
    const uint64_t key = HashStr(a.query) ^ (a.kind == AccessKind::kSearch ? 0x5eed : 0x1157);
    if (key == st.page_key && a.page == st.last_page + 1 && m - st.page_min < wmin_)
      ++st.page_run;
    else if (!(key == st.page_key && a.page == st.last_page))
      st.page_run = 0;
    st.page_key = key;
    st.last_page = a.page;
    st.page_min = m;
    f.page_run = st.page_run;
  }
  if (a.kind == AccessKind::kSearch && !a.query.empty()) {
    size_t colon = a.query.find(':');
    std::string_view type = colon == std::string_view::npos ? std::string_view() : a.query.substr(0, colon);
    const uint64_t th = HashStr(type), vh = HashStr(a.query);
    std::erase_if(st.queries, [&](const QueryEntry& q) { return q.minute <= horizon; });
    bool found = false;
    uint32_t same_type = 0;
    for (const QueryEntry& q : st.queries) {
      if (q.type != th) continue;
      ++same_type;
      found |= q.value == vh;
    }
    if (!found && st.queries.size() < kMaxQueries) {
      st.queries.push_back({m, th, vh});
      ++same_type;
    }
    f.search_distinct = same_type;
    f.search_type = type;
  }

  // Source network.
  if (!a.source.empty() && a.source == st.last_source && st.last_net_known) {
    f.new_network = m < st.last_net_new_until;  // fast path: same address as last time
  } else if (!a.source.empty()) {
    if (a.source != st.last_source) {
      st.last_source.assign(a.source);
      st.last_net = NetworkKey(a.source);
    }
    auto it = std::find_if(st.networks.begin(), st.networks.end(),
                           [&](const Network& n) { return n.key == st.last_net; });
    if (it == st.networks.end()) {
      if (st.networks.size() >= static_cast<size_t>(c_.max_networks)) {
        // Forget the most recently added non-first network... no: the oldest
        // non-first one, so the first network stays known.
        auto victim = std::min_element(st.networks.begin(), st.networks.end(), [](const Network& x, const Network& y) {
          return (x.first_min == INT64_MIN ? INT64_MAX : x.first_min) < (y.first_min == INT64_MIN ? INT64_MAX : y.first_min);
        });
        st.networks.erase(victim);
      }
      st.networks.push_back({st.last_net, st.networks.empty() ? INT64_MIN : m});
      it = st.networks.end() - 1;
    }
    st.last_net_new_until =
        it->first_min == INT64_MIN ? INT64_MIN : it->first_min + (c_.new_network_seconds + 59) / 60;
    st.last_net_known = true;
    f.new_network = m < st.last_net_new_until;
  }

  // Local time.
  if (sec < st.span.valid_from || sec >= st.span.valid_to) st.span = OffsetAt(st.zone, sec);
  f.local = ToLocal(sec, st.span.offset_seconds);
  // Integrations run at any hour (nightly syncs): their structure's opening
  // hours say nothing about them.
  f.off_hours = !st.profile.technical && OutsideHours(st.profile.hours, f.local);
  const int hour = f.local.minute_of_day / 60;
  f.night = c_.night_start_hour > c_.night_end_hour ? (hour >= c_.night_start_hour || hour < c_.night_end_hour)
                                                      : (hour >= c_.night_start_hour && hour < c_.night_end_hour);
}

// ------------------------------------------------------------------ scoring

struct Points {
  double volume = 0, novelty = 0, off_hours = 0, denied = 0, seq = 0, paging = 0, search = 0, network = 0;
  double spread = 0, spread_ref = 0;
  double behaviour = 0, multiplier = 1, context = 0;
  bool new_account = false, probation = false, new_technical = false, creator = false;
  bool cold_technical = false;
  bool network_flagged = false;  // from a network new to it, where another account was flagged
  int64_t network_flagged_by = 0;  // new technical account without its own baseline: new_technical_reference
  bool repeat = false;          // escalated to kSuspend by refusal episodes
  bool own_ok = false, novelty_ok = false;
  double own_ref = 0, peer_ref = 0, ref = 0;
  bool peer_observed = false;
  bool vol_read = false, vol_accesses = false, vol_list = false;
};

double Excess(double n, double free, double w) { return n > free ? w * std::log2(1 + (n - free)) : 0; }

Verdict GuardImpl::Score(AccountState& st, const Access& a, const Features& f) {
  Points p;
  const int64_t m = f.minute;
  const int64_t history = m - st.first_min;
  p.novelty_ok = history >= int64_t{c_.min_history_days} * 1440;
  p.peer_ref = st.group->reference.load(std::memory_order_relaxed);
  p.peer_observed = st.group->reference_observed.load(std::memory_order_relaxed);
  // The own p99 can only raise the reference: it matters only when some
  // count exceeds what the peer reference alone allows.
  const double base = std::max(c_.min_reference, p.peer_ref);
  const bool need_own = f.d_read > base || f.volume > base * c_.volume_factor ||
                        f.d_list > std::max(base * c_.list_ratio, c_.list_min_reference);
  if (need_own && p.novelty_ok && st.own_dirty) {
    const int32_t cur = PeriodOfMinute(m);
    st.own_p99 = st.hist->P99(cur);
    st.own_windows = st.hist->Total(cur);
    st.own_dirty = false;
  }
  p.own_ok = need_own && p.novelty_ok && st.own_windows >= static_cast<uint64_t>(c_.min_history_windows);
  p.own_ref = p.own_ok ? st.own_p99 : 0;
  p.ref = std::max({c_.min_reference, p.own_ref, p.peer_ref});
  const int64_t age = st.created_min > 0 ? m - st.created_min : INT64_MAX;
  if (st.profile.technical && age < int64_t{c_.technical_new_days} * 1440 && !p.novelty_ok) {
    // A new integration has no baseline of its own and no business reading
    // many people one by one: its own small reference, not its peers'.
    p.cold_technical = true;
    p.ref = c_.new_technical_reference;
  }

  double pr = f.d_read > p.ref ? c_.volume_weight * std::log2(f.d_read / p.ref) : 0;
  // (list_min_reference is for people listing their own caseload; a new
  // integration has none.)
  const double vref = p.ref * c_.volume_factor,
               lref = p.cold_technical ? p.ref * c_.list_ratio : std::max(p.ref * c_.list_ratio, c_.list_min_reference);
  double pv = f.volume > vref ? c_.volume_weight * std::log2(f.volume / vref) : 0;
  double pl = f.d_list > lref ? c_.volume_weight * std::log2(f.d_list / lref) : 0;
  p.volume = std::max({pr, pv, pl});
  p.vol_read = pr > 0, p.vol_accesses = pv > 0, p.vol_list = pl > 0;

  if (p.novelty_ok && f.new_read >= static_cast<uint32_t>(std::max(1, c_.novelty_min_people)) && f.d_read > 0) {
    double share = std::min(1.0, static_cast<double>(f.new_read) / f.d_read);
    p.novelty = c_.novelty_weight * share * std::min(1.0, static_cast<double>(f.new_read) / c_.novelty_full_people);
  }
  if (f.off_hours) p.off_hours = c_.off_hours_weight + (f.night ? c_.night_weight : 0);
  p.denied = Excess(f.denied, c_.denied_free, c_.denied_weight);
  p.seq = Excess(f.seq, c_.sequential_free, c_.sequential_weight);
  p.paging = Excess(static_cast<double>(f.page_run), c_.paging_free, c_.paging_weight);
  p.search = Excess(f.search_distinct, c_.search_free, c_.search_weight);
  if (f.new_network) p.network = c_.new_network_weight;
  if (f.spread > 0) {
    p.spread_ref = c_.spread_free;
    if (p.novelty_ok && st.spread_hist) p.spread_ref = std::max(p.spread_ref, st.spread_hist->P99(PeriodOfMinute(m)));
    p.spread = f.spread > p.spread_ref ? c_.spread_weight * std::log2(f.spread / p.spread_ref) : 0;
  }
  p.behaviour = p.volume + p.novelty + p.off_hours + p.denied + p.seq + p.paging + p.search + p.network + p.spread;

  // (A new technical account weighs up through technical_new_multiplier, not both.)
  if (!st.profile.technical && age < int64_t{c_.new_account_days} * 1440)
    p.new_account = true, p.multiplier *= c_.new_account_multiplier;
  if (st.profile.probation) p.probation = true, p.multiplier *= c_.probation_multiplier;
  if (st.profile.technical && age < int64_t{c_.technical_new_days} * 1440)
    p.new_technical = true, p.multiplier *= c_.technical_new_multiplier;
  if (st.creator_under_alert) {
    p.creator = true;
    p.multiplier *= c_.creator_under_alert_multiplier;
    p.context = c_.creator_under_alert_points;
  }
  if (f.new_network) {  // rare: only then look at the flagged networks
    std::shared_lock lock(alert_mu_);
    auto it = flagged_networks_.find(st.last_net);
    if (it != flagged_networks_.end() && it->second.until > a.time && it->second.account != a.account.value()) {
      p.network_flagged = true;
      p.network_flagged_by = it->second.account;
      if (!p.creator) p.multiplier *= c_.creator_under_alert_multiplier;
      p.context = std::max(p.context, c_.creator_under_alert_points);
    }
  }
  p.multiplier = std::min(p.multiplier, c_.max_multiplier);

  Verdict v;
  v.score = p.behaviour * p.multiplier + p.context;
  if (f.honeytoken) v.score = std::max(v.score, c_.suspend_at);
  if (v.score < c_.record_at) {  // the common path: nothing built
    st.allowed_since_refusal = true;
    return v;
  }

  v.action = v.score >= c_.suspend_at    ? Action::kSuspend
             : v.score >= c_.throttle_at ? Action::kThrottle
             : v.score >= c_.step_up_at  ? Action::kStepUp
             : v.score >= c_.alert_at    ? Action::kAlert
                                         : Action::kRecord;
  if (f.honeytoken) v.action = Action::kSuspend;
  // A technical account has no second factor: a step-up cannot be asked.
  if (v.action == Action::kStepUp && st.profile.technical) v.action = Action::kThrottle;
  // Escalation: a refusal after the account resumed from an earlier one is a
  // new episode; enough episodes within escalation_seconds suspend.
  const bool refusing = v.action == Action::kThrottle || (v.action == Action::kStepUp && !a.step_up_done);
  if (refusing && c_.refusal_episodes_to_suspend > 0) {
    if (st.allowed_since_refusal) {
      if (st.episodes == 0 || m - st.episodes_since_min > c_.escalation_seconds / 60) {
        st.episodes = 0;
        st.episodes_since_min = m;
      }
      ++st.episodes;
      st.last_episode_min = m;
      st.allowed_since_refusal = false;
    }
    if (st.episodes >= c_.refusal_episodes_to_suspend) {
      p.repeat = true;
      v.action = Action::kSuspend;
      v.score = std::max(v.score, c_.suspend_at);
    }
  } else if (v.action < Action::kSuspend) {
    st.allowed_since_refusal = true;
  }
  Explain(st, f, p, v);

  if (v.action == Action::kSuspend) {
    const int64_t id = a.account.value();
    {
      std::shared_lock lock(registry_mu_);
      auto it = children_.find(id);
      if (it != children_.end())
        for (int64_t child : it->second) {
          auto pit = profiles_.find(child);
          if (pit == profiles_.end()) continue;
          const UnixMicros created = pit->second.created_at;
          if (created > 0 && a.time - created <= c_.related_accounts_seconds * 1'000'000 &&
              std::find(v.also_suspend.begin(), v.also_suspend.end(), AccountId(child)) == v.also_suspend.end())
            v.also_suspend.push_back(AccountId(child));
        }
    }
    std::unique_lock lock(alert_mu_);
    for (AccountId x : v.also_suspend) {
      auto& e = under_alert_[x.value()];
      if (!e.suspended) e.since = a.time;
      e.suspended = true;
    }
    auto& e = under_alert_[id];
    e.since = a.time;
    e.suspended = true;
    epoch_.fetch_add(1, std::memory_order_release);
    st.suspended = true;
  } else if (v.action >= Action::kAlert) {
    std::unique_lock lock(alert_mu_);
    auto& e = under_alert_[a.account.value()];
    if (e.since == 0) e.since = a.time;
    e.until = std::max(e.until, a.time + c_.under_alert_seconds * 1'000'000);
    epoch_.fetch_add(1, std::memory_order_release);
  }
  if (v.action >= Action::kAlert && f.new_network) {
    std::unique_lock lock(alert_mu_);
    if (flagged_networks_.size() > 100'000) absl::erase_if(flagged_networks_, [&](const auto& kv) { return kv.second.until <= a.time; });
    auto& fn = flagged_networks_[st.last_net];
    if (fn.until <= a.time) fn.account = a.account.value();
    fn.until = std::max(fn.until, a.time + c_.under_alert_seconds * 1'000'000);
  }
  // By association: a recently created account flagged casts doubt on whoever
  // created or approved it (and so on the other accounts they made).
  if (v.action >= Action::kAlert && age < c_.related_accounts_seconds / 60) {
    std::unique_lock lock(alert_mu_);
    for (auto parent : {st.profile.created_by, st.profile.approved_by}) {
      if (!parent || *parent == a.account) continue;
      auto& e = under_alert_[parent->value()];
      if (e.since == 0) e.since = a.time;
      if (!e.suspended && e.until <= a.time) e.because = a.account.value();
      e.until = std::max(e.until, a.time + c_.under_alert_seconds * 1'000'000);
    }
    epoch_.fetch_add(1, std::memory_order_release);
  }
  if (v.action >= Action::kAlert) RaiseAlert(a, v);
  return v;
}

void GuardImpl::Explain(const AccountState& st, const Features& f, const Points& p, Verdict& v) const {
  std::string& e = v.explanation;
  auto add = [&](std::string_view signal, const std::string& text) {
    v.signals.emplace_back(signal);
    if (!e.empty()) e += "; ";
    e += text;
  };
  const std::string win = StrCat(wmin_, " minutes");
  if (f.honeytoken)
    add("honeytoken", StrCat("touched person ", f.honeytoken->value(),
                             ", a honeytoken (a decoy that only enumeration or bulk listing finds)"));
  if (p.volume > 0) {
    std::string peers = p.cold_technical
                            ? StrCat("a new technical account may read ", Fmt(p.ref), " per ", win,
                                     " until it has a baseline")
                        : p.peer_observed ? StrCat("its peers' (", st.group->key, ") is ", Fmt(p.peer_ref))
                                          : StrCat("its peers' (", st.group->key, ") prior is ", Fmt(p.peer_ref));
    std::string own = p.own_ok ? StrCat("its own ", c_.baseline_days, "-day p99 is ", Fmt(p.own_ref))
                               : std::string("it has too little history for its own baseline");
    std::string what;
    if (p.vol_read) what = StrCat("read ", f.d_read, " distinct people in ", win);
    if (p.vol_accesses) what += StrCat(what.empty() ? "" : ", ", f.volume, " accesses in ", win);
    if (p.vol_list) what += StrCat(what.empty() ? "" : ", ", f.d_list, " people in search results and listings in ", win,
                                   " (ordinary up to ", Fmt(p.cold_technical ? p.ref * c_.list_ratio : std::max(p.ref * c_.list_ratio, c_.list_min_reference)), ")");
    add("volume", StrCat(what, "; ", own, " and ", peers));
  }
  if (p.off_hours > 0) {
    std::string zone = st.zone.known ? st.profile.time_zone
                                     : StrCat("Europe/Paris, its zone '", st.profile.time_zone, "' being unknown");
    add("off_hours", StrCat("outside its structure's opening hours (", kWeekdays[f.local.weekday], " ",
                            Hhmm(f.local.minute_of_day), " local time, ", zone, ")", f.night ? ", at night" : ""));
  }
  if (p.novelty > 0) add("novelty", StrCat(f.new_read, " of them never read before by this account"));
  if (p.denied > 0) add("denied", StrCat(f.denied, " denied attempts in ", win, " (people outside its scope)"));
  if (p.seq > 0) add("sequential_ids", StrCat(f.seq, " person ids in sequence in ", win, " (enumeration)"));
  if (p.paging > 0) add("paging", StrCat(f.page_run + 1, " consecutive pages of the same listing or search (exhaustive paging)"));
  if (p.search > 0)
    add("search_sweep", StrCat(f.search_distinct, " distinct '", f.search_type.empty() ? "" : f.search_type,
                               f.search_type.empty() ? "free text" : ":", "' searches in ", win, " (search sweep)"));
  if (p.network > 0) add("new_network", "from a network (IPv4 /24, IPv6 /48) it never used before");
  if (p.spread > 0)
    add("spread", StrCat("read files from the caseloads of ", f.spread, " different colleagues in ",
                         c_.spread_window_seconds % 3600 == 0 ? StrCat(c_.spread_window_seconds / 3600, " hours")
                                                              : StrCat(c_.spread_window_seconds / 60, " minutes"),
                         " (ordinary for it: up to ", Fmt(p.spread_ref), ")"));
  const bool behaviour = p.behaviour > 0;
  auto days = [&](int64_t mins) { return StrCat(mins / 1440, mins / 1440 == 1 ? " day" : " days"); };
  if (p.new_technical && behaviour)
    add("new_technical_account", StrCat("a technical account created ", days(f.minute - st.created_min), " ago"));
  else if (p.new_account && behaviour)
    add("new_account", StrCat("the account was created ", days(f.minute - st.created_min), " ago"));
  if (p.probation && behaviour) add("probation", "the account is on probation");
  if (p.creator)
    add("creator_under_alert",
        st.creator_because != 0 && st.creator_because != st.profile.account.value()
            ? StrCat("it was created or approved by account ", st.creator_alerted,
                     ", under alert since account ", st.creator_because, ", which it also created or approved, was flagged")
            : StrCat("it was created or approved by account ", st.creator_alerted, ", which is under alert"));
  if (p.network_flagged)
    add("network_under_alert", StrCat("from a network new to it, from which account ", p.network_flagged_by,
                                      " was flagged (the same hands on several accounts?)"));
  if (p.repeat)
    add("repeat", StrCat("refused ", st.episodes, " times since ", f.minute - st.episodes_since_min,
                         " minutes ago, it resumed after each pause (refusal episodes; suspended at ",
                         c_.refusal_episodes_to_suspend, ")"));
  if (e.empty()) e = "unusual activity";
}

void GuardImpl::RaiseAlert(const Access& a, const Verdict& v) {
  std::lock_guard lock(alerts_mu_);
  const int64_t id = a.account.value();
  auto it = last_alert_.find(id);
  if (it != last_alert_.end() && it->second < alerts_.size()) {
    Alert& last = alerts_[it->second];
    if (last.action == v.action && a.time - last.last_time <= c_.window_seconds * 1'000'000) {
      ++last.repeats;
      last.last_time = std::max(last.last_time, a.time);
      if (v.score > last.score) {
        last.score = v.score;
        last.explanation = v.explanation;
        last.signals = v.signals;
      }
      return;
    }
  }
  if (alerts_.size() >= kMaxAlerts) {
    alerts_.erase(alerts_.begin(), alerts_.begin() + kMaxAlerts / 10);
    last_alert_.clear();
    for (size_t i = 0; i < alerts_.size(); ++i) last_alert_[alerts_[i].account.value()] = i;
  }
  Alert al;
  al.id = next_alert_id_++;
  al.time = al.last_time = a.time;
  al.account = a.account;
  al.action = v.action;
  al.score = v.score;
  al.explanation = v.explanation;
  al.signals = v.signals;
  alerts_.push_back(std::move(al));
  last_alert_[id] = alerts_.size() - 1;
}

// ------------------------------------------------------------------ persistence
//
// Format (docs/guard.md): one header line
//   "CLOISON-GUARD-STATE <version> <fnv1a-64 of the body, 16 hex digits>\n"
// followed by a JSON body.

Status GuardImpl::SaveState(std::string* out) const {
  json body;
  body["version"] = kStateVersion;
  body["window_minutes"] = wmin_;
  body["period_days"] = period_days_;
  body["now"] = now_.load();
  {
    std::shared_lock lock(honey_mu_);
    std::vector<int64_t> h(honeytokens_.begin(), honeytokens_.end());
    std::sort(h.begin(), h.end());
    body["honeytokens"] = h;
  }
  json accounts = json::array();
  for (const Shard& sh : shards_) {
    std::lock_guard lock(sh.mu);
    for (const auto& [id, stp] : sh.accounts) {
      const AccountState& st = *stp;
      json j;
      j["profile"] = ProfileToJson(st.profile);
      j["registered"] = st.registered;
      j["first_min"] = st.first_min;
      j["last_min"] = st.last_min;
      std::vector<int64_t> seen;
      seen.reserve(st.seen.size() * 3);
      st.seen.ForEach([&](int64_t pid, const Seen& x) {
        seen.insert(seen.end(), {pid, int64_t{x.last_read}, int64_t{x.last_list}});
      });
      j["seen"] = std::move(seen);
      json ring = json::array();
      for (const Bucket& b : Ring(st)) ring.push_back({b.minute, b.read, b.list, b.volume, b.new_read, b.denied, b.seq});
      j["ring"] = std::move(ring);
      j["cur_wi"] = st.cur_wi;
      j["cur_peak"] = st.cur_peak;
      j["hist"] = st.hist->ToJson();
      j["last_person"] = st.last_person;
      j["page"] = {st.page_key, st.last_page, st.page_min, st.page_run};
      json q = json::array();
      for (const QueryEntry& e : st.queries) q.push_back({e.minute, e.type, e.value});
      j["queries"] = std::move(q);
      json n = json::array();
      for (const Network& e : st.networks) n.push_back({e.key, e.first_min});
      j["networks"] = std::move(n);
      j["episodes"] = {st.episodes, st.episodes_since_min, st.last_episode_min, st.allowed_since_refusal};
      if (st.spread_hist || !st.colleagues.empty()) {
        json c = json::array();
        for (const auto& x : st.colleagues) c.push_back({x.id, x.last_min});
        j["spread"] = {{"colleagues", std::move(c)},
                       {"day", st.spread_day},
                       {"peak", st.spread_peak},
                       {"hist", st.spread_hist ? st.spread_hist->ToJson() : json(nullptr)}};
      }
      accounts.push_back(std::move(j));
    }
  }
  body["accounts"] = std::move(accounts);
  {
    std::lock_guard lock(groups_mu_);
    json groups = json::array();
    for (const auto& [key, g] : groups_) {
      std::lock_guard gl(g->mu);
      groups.push_back({{"key", key}, {"first_min", g->first_min}, {"hist", g->hist.ToJson()}});
    }
    body["groups"] = std::move(groups);
  }
  {
    std::shared_lock lock(alert_mu_);
    json ua = json::array();
    for (const auto& [id, e] : under_alert_) ua.push_back({id, e.since, e.until, e.suspended, e.because});
    body["under_alert"] = std::move(ua);
    json fnets = json::array();
    for (const auto& [key, e] : flagged_networks_) fnets.push_back({key, e.until, e.account});
    body["flagged_networks"] = std::move(fnets);
  }
  {
    std::lock_guard lock(alerts_mu_);
    json al = json::array();
    for (const Alert& a : alerts_)
      al.push_back({{"id", a.id},
                    {"time", a.time},
                    {"last_time", a.last_time},
                    {"account", a.account.value()},
                    {"action", std::string(ActionName(a.action))},
                    {"score", a.score},
                    {"explanation", a.explanation},
                    {"signals", a.signals},
                    {"repeats", a.repeats}});
    body["alerts"] = std::move(al);
    body["next_alert_id"] = next_alert_id_;
  }
  std::string text = body.dump();
  char hdr[80];
  std::snprintf(hdr, sizeof hdr, "%s %d %016llx\n", std::string(kMagic).c_str(), kStateVersion,
                static_cast<unsigned long long>(HashStr(text)));
  *out = hdr;
  *out += text;
  return OkStatus();
}

Status GuardImpl::LoadState(std::string_view in) {
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return Corruption("guard state: missing header line");
  std::string_view header = in.substr(0, nl), text = in.substr(nl + 1);
  if (header.substr(0, kMagic.size()) != kMagic) return Corruption("guard state: not a guard state file");
  unsigned version = 0;
  unsigned long long sum = 0;
  std::string hs(header.substr(kMagic.size()));
  if (std::sscanf(hs.c_str(), " %u %16llx", &version, &sum) != 2) return Corruption("guard state: bad header line");
  if (version != kStateVersion)
    return Corruption(StrCat("guard state: unsupported version ", static_cast<int64_t>(version)));
  if (HashStr(text) != sum) return Corruption("guard state: checksum mismatch (damaged or truncated)");

  // Build everything aside, then swap in under all locks.
  std::array<AccountMap, kShards> accounts;
  absl::flat_hash_map<std::string, std::unique_ptr<Group>> groups;
  absl::flat_hash_map<int64_t, AccountProfile> profiles;
  absl::flat_hash_map<int64_t, std::vector<int64_t>> children;
  absl::flat_hash_map<int64_t, UnderAlertEntry> under_alert;
  absl::flat_hash_map<uint64_t, FlaggedNetwork> flagged_networks;
  absl::flat_hash_set<int64_t> honey;
  std::vector<Alert> alerts;
  uint64_t next_alert_id = 1;
  int64_t now = 0;
  auto group_for = [&](const std::string& key) {
    auto& g = groups[key];
    if (!g) {
      g = std::make_unique<Group>();
      g->key = key;
      g->prior = PriorFor(key);
      g->reference.store(g->prior);
    }
    return g.get();
  };
  try {
    json body = json::parse(text);
    if (body.at("version").get<int>() != kStateVersion) return Corruption("guard state: version mismatch");
    const bool same_window = body.at("window_minutes").get<int64_t>() == wmin_;
    const bool same_periods = body.at("period_days").get<int>() == period_days_;
    now = body.at("now").get<int64_t>();
    for (const auto& h : body.at("honeytokens")) honey.insert(h.get<int64_t>());
    for (const auto& g : body.at("groups")) {
      Group* gr = group_for(g.at("key").get<std::string>());
      gr->first_min = g.at("first_min").get<int64_t>();
      if (same_periods) gr->hist.FromJson(g.at("hist"));
    }
    for (const auto& j : body.at("accounts")) {
      auto st = std::make_unique<AccountState>();
      AccountProfile prof = ProfileFromJson(j.at("profile"));
      const int64_t id = prof.account.value();
      if (id <= 0) throw std::runtime_error("account id");
      AllocateRing(*st);
      ApplyProfile(*st, prof, group_for(GroupKey(prof)));
      st->registered = j.at("registered").get<bool>();
      if (st->registered) profiles[id] = prof;
      st->first_min = j.at("first_min").get<int64_t>();
      st->last_min = j.at("last_min").get<int64_t>();
      auto seen = j.at("seen").get<std::vector<int64_t>>();
      if (seen.size() % 3 != 0) throw std::runtime_error("seen");
      st->seen.reserve(seen.size() / 3);
      for (size_t i = 0; i < seen.size(); i += 3)
        st->seen[seen[i]] = Seen{static_cast<uint32_t>(seen[i + 1]), static_cast<uint32_t>(seen[i + 2])};
      const auto& ring = j.at("ring");
      if (same_window) {
        if (ring.size() != static_cast<size_t>(wmin_)) throw std::runtime_error("ring size");
        for (size_t i = 0; i < ring.size(); ++i) {
          auto r = ring[i].get<std::vector<int64_t>>();
          if (r.size() != 7) throw std::runtime_error("ring bucket");
          auto u16 = [](int64_t v) { return static_cast<uint16_t>(std::clamp<int64_t>(v, 0, 65535)); };
          st->ring[i] = Bucket{static_cast<int32_t>(r[0]), u16(r[1]), u16(r[2]), u16(r[3]),
                               u16(r[4]),                  u16(r[5]), u16(r[6])};
        }
        st->cur_wi = j.at("cur_wi").get<int64_t>();
        st->cur_peak = j.at("cur_peak").get<uint32_t>();
      }
      if (same_periods) {
        st->hist->FromJson(j.at("hist"));
        st->own_dirty = true;
      }
      st->last_person = j.at("last_person").get<int64_t>();
      const auto& pg = j.at("page");
      if (pg.size() != 4) throw std::runtime_error("page");
      st->page_key = pg[0].get<uint64_t>();
      st->last_page = pg[1].get<int64_t>();
      st->page_min = pg[2].get<int64_t>();
      st->page_run = pg[3].get<int64_t>();
      for (const auto& q : j.at("queries")) {
        if (q.size() != 3) throw std::runtime_error("query");
        st->queries.push_back({q[0].get<int64_t>(), q[1].get<uint64_t>(), q[2].get<uint64_t>()});
      }
      for (const auto& n : j.at("networks")) {
        if (n.size() != 2) throw std::runtime_error("network");
        st->networks.push_back({n[0].get<uint64_t>(), n[1].get<int64_t>()});
      }
      if (auto sp = j.find("spread"); sp != j.end()) {  // absent when the account never read a colleague's file
        for (const auto& c : sp->at("colleagues")) {
          if (c.size() != 2) throw std::runtime_error("colleague");
          st->colleagues.push_back({c[0].get<int64_t>(), c[1].get<int64_t>()});
        }
        if (st->colleagues.size() > kMaxColleagues) throw std::runtime_error("colleagues");
        st->spread_day = sp->at("day").get<int64_t>();
        st->spread_peak = sp->at("peak").get<uint32_t>();
        if (!sp->at("hist").is_null() && same_periods) {
          st->spread_hist = std::make_unique<PeriodHist<uint16_t>>();
          st->spread_hist->FromJson(sp->at("hist"));
        }
      }
      if (auto ep = j.find("episodes"); ep != j.end()) {  // absent in older states
        if (ep->size() != 4) throw std::runtime_error("episodes");
        st->episodes = (*ep)[0].get<int32_t>();
        st->episodes_since_min = (*ep)[1].get<int64_t>();
        st->last_episode_min = (*ep)[2].get<int64_t>();
        st->allowed_since_refusal = (*ep)[3].get<bool>();
      }
      accounts[Mix(static_cast<uint64_t>(id)) % kShards][id] = std::move(st);
    }
    for (const auto& u : body.at("under_alert")) {
      if (u.size() != 4 && u.size() != 5) throw std::runtime_error("under_alert");
      under_alert[u[0].get<int64_t>()] = {u[1].get<int64_t>(), u[2].get<int64_t>(), u[3].get<bool>(),
                                          u.size() == 5 ? u[4].get<int64_t>() : 0};
    }
    if (auto fn = body.find("flagged_networks"); fn != body.end())  // absent in older states
      for (const auto& e : *fn) {
        if (e.size() != 3) throw std::runtime_error("flagged_networks");
        flagged_networks[e[0].get<uint64_t>()] = {e[1].get<int64_t>(), e[2].get<int64_t>()};
      }
    for (const auto& a : body.at("alerts")) {
      Alert al;
      al.id = a.at("id").get<uint64_t>();
      al.time = a.at("time").get<int64_t>();
      al.last_time = a.at("last_time").get<int64_t>();
      al.account = AccountId(a.at("account").get<int64_t>());
      auto act = ParseAction(a.at("action").get<std::string>());
      if (!act) throw std::runtime_error("action");
      al.action = *act;
      al.score = a.at("score").get<double>();
      al.explanation = a.at("explanation").get<std::string>();
      al.signals = a.at("signals").get<std::vector<std::string>>();
      al.repeats = a.at("repeats").get<uint64_t>();
      alerts.push_back(std::move(al));
    }
    next_alert_id = body.at("next_alert_id").get<uint64_t>();
  } catch (const std::exception& e) {
    return Corruption(StrCat("guard state: malformed body (", std::string_view(e.what()), ")"));
  }
  // Group references from the loaded histograms.
  for (auto& [key, g] : groups) {
    const int32_t cur = PeriodOfMinute(now / 60'000'000);
    uint64_t total = g->hist.Total(cur);
    g->adds = total;
    g->observed = g->first_min >= 0 && total >= static_cast<uint64_t>(c_.peer_min_windows) &&
                  now / 60'000'000 - g->first_min >= int64_t{c_.min_history_days} * 1440;
    if (g->observed) g->observed_p99 = g->hist.P99(cur);
    g->reference.store(g->observed ? g->observed_p99 : g->prior);
    g->reference_observed.store(g->observed);
  }
  for (const auto& [id, prof] : profiles) {
    if (prof.created_by) children[prof.created_by->value()].push_back(id);
    if (prof.approved_by && (!prof.created_by || *prof.approved_by != *prof.created_by))
      children[prof.approved_by->value()].push_back(id);
  }

  std::array<std::unique_lock<ShardLock>, kShards> shard_locks;
  for (int i = 0; i < kShards; ++i) shard_locks[i] = std::unique_lock(shards_[i].mu);
  std::unique_lock rl(registry_mu_);
  std::lock_guard gl(groups_mu_);
  std::unique_lock al(alert_mu_);
  std::lock_guard alsl(alerts_mu_);
  std::unique_lock hl(honey_mu_);
  for (int i = 0; i < kShards; ++i) shards_[i].accounts.swap(accounts[i]);
  groups_.swap(groups);
  profiles_.swap(profiles);
  children_.swap(children);
  under_alert_.swap(under_alert);
  flagged_networks_.swap(flagged_networks);
  alerts_.swap(alerts);
  last_alert_.clear();
  for (size_t i = 0; i < alerts_.size(); ++i) last_alert_[alerts_[i].account.value()] = i;
  next_alert_id_ = next_alert_id;
  honeytokens_.swap(honey);
  honey_count_.store(honeytokens_.size());
  now_.store(now);
  epoch_.fetch_add(1);
  return OkStatus();
}

}  // namespace

std::unique_ptr<Guard> Guard::Create(GuardConfig config, const Clock& clock) {
  return std::make_unique<GuardImpl>(std::move(config), clock);
}

}  // namespace cloison::guard
