#include "access/gate.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/date.h"
#include "core/strings.h"

namespace cloison::access {

namespace {

// Names in config/policy.toml are lower-case ASCII words; anything else can
// be refused before a lookup (and never echoed verbatim).
bool IsLowerName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  return true;
}

std::string ScoreText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", s);
  return buf;
}

}  // namespace

QuotaLimits QuotaLimitsFor(const policy::Policy& p, const policy::Principal& who, int64_t daily_read_quota) {
  QuotaLimits l;
  std::optional<policy::QuotaDef> q;
  if (who.kind == policy::AccountKind::kTechnical) {
    q = p.technical_quota();
  } else {
    // The most generous quota among the account's reading roles.
    for (Role r : who.roles) {
      auto qr = p.quota(r);
      if (!qr) continue;
      if (!q || qr->people_per_day > q->people_per_day) q = qr;
    }
  }
  if (q) {
    l.per_hour = q->people_per_hour;
    l.per_day = q->people_per_day;
  }
  // iam's effective daily quota (probation lowers it) can only tighten.
  if (daily_read_quota > 0 && (l.per_day == 0 || daily_read_quota < l.per_day)) l.per_day = daily_read_quota;
  return l;
}

Gate::Gate(const GateDeps& deps, GateOptions options)
    : deps_(deps),
      options_(options),
      engine_(*deps.policy, *deps.index),
      store_mu_(deps.store_mutex != nullptr ? deps.store_mutex : &own_store_mu_) {}

Status Gate::Append(const audit::Event& e) {
  if (!options_.on_audit_append) return deps_.audit->Append(e).status();
  const auto start = std::chrono::steady_clock::now();
  Status s = deps_.audit->Append(e).status();
  options_.on_audit_append(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
  return s;
}

Outcome Gate::ApplyVerdict(const Caller& caller, const guard::Verdict& v, UnixMicros now, std::string_view context) {
  if (v.action == guard::Action::kAllow) return Outcome::kOk;
  audit::Event ev;
  ev.kind = audit::EventKind::kGuardAction;
  ev.time = now;
  ev.account = caller.principal.account;
  ev.session = caller.session;
  ev.source = caller.source;
  ev.decision = std::string(guard::ActionName(v.action));
  ev.reason = v.explanation;
  ev.details["score"] = ScoreText(v.score);
  ev.details["context"] = std::string(context);
  std::string signals;
  for (const std::string& s : v.signals) {
    if (!signals.empty()) signals += ',';
    signals += s;
  }
  if (!signals.empty()) ev.details["signals"] = signals;
  if (v.action == guard::Action::kSuspend && !v.also_suspend.empty()) {
    std::string also;
    for (AccountId a : v.also_suspend) {
      if (!also.empty()) also += ',';
      also += StrCat(a.value());
    }
    ev.details["also_suspended"] = also;
  }
  // The guard's own record is best effort against a failing log: the read
  // that follows needs a durable append anyway and answers 503 then.
  Append(ev).IgnoreError();

  switch (v.action) {
    case guard::Action::kAllow:
    case guard::Action::kRecord:
    case guard::Action::kAlert:
      return Outcome::kOk;
    case guard::Action::kStepUp:
      return caller.step_up_done ? Outcome::kOk : Outcome::kStepUp;
    case guard::Action::kThrottle:
      return Outcome::kThrottled;
    case guard::Action::kSuspend:
      if (deps_.accounts != nullptr) {
        const std::string reason = StrCat("guard: ", v.explanation);
        deps_.accounts->Suspend(caller.principal.account, reason);
        for (AccountId a : v.also_suspend)
          deps_.accounts->Suspend(a, StrCat("guard: created or approved by suspended account ",
                                            caller.principal.account.value()));
      }
      return Outcome::kSuspended;
  }
  return Outcome::kOk;
}

ReadResult Gate::Read(const Caller& caller, const ReadRequest& rq) {
  ReadResult done;
  PendingRead pending;
  if (Begin(caller, rq, &done, &pending)) return done;
  const Status appended = Append(pending.entry);
  return Complete(caller, std::move(pending), appended);
}

bool Gate::Begin(const Caller& caller, const ReadRequest& rq, ReadResult* done, PendingRead* pending) {
  ReadResult& out = pending->result;
  out = ReadResult();
  const policy::Policy& pol = *deps_.policy;
  auto bad = [done](std::string msg) {
    *done = ReadResult();
    done->outcome = Outcome::kBadRequest;
    done->message = std::move(msg);
    return true;
  };
  if (!IsLowerName(rq.purpose)) return bad("unknown purpose");
  std::optional<policy::PurposeId> purpose = pol.FindPurpose(rq.purpose);
  if (!purpose) return bad(StrCat("unknown purpose '", rq.purpose, "'"));
  if (pol.purpose(*purpose).aggregates_only)
    return bad(StrCat("purpose '", rq.purpose, "' releases aggregates only, never one person's record"));
  policy::RevealRequest reveal;
  std::vector<std::string> requested_fields;
  if (rq.reveal_field != nullptr) {
    if (!IsLowerName(*rq.reveal_field)) return bad("unknown field name");
    StatusOr<policy::FieldBits> bits = pol.FieldsNamed({*rq.reveal_field});
    if (!bits.ok()) return bad(StrCat("unknown field '", *rq.reveal_field, "'"));
    reveal.fields = *bits;
    reveal.justification = rq.justification;
    requested_fields.push_back(*rq.reveal_field);
  }
  pending->person = rq.person;
  pending->purpose = std::string(rq.purpose);
  pending->reveal = rq.reveal_field != nullptr;
  pending->now = rq.now;

  const policy::Decision d =
      engine_.Decide(caller.principal, rq.person, *purpose, Date::FromUnixMicros(rq.now), rq.reveal_field ? &reveal : nullptr);
  out.decision = d;
  out.rule_id = d.rule >= 0 ? pol.rules()[static_cast<size_t>(d.rule)].id : "";

  audit::Event& ev = pending->entry;
  ev = audit::Event();
  ev.time = rq.now;
  ev.account = caller.principal.account;
  ev.session = caller.session;
  ev.source = caller.source;
  ev.persons = {rq.person};
  ev.purpose = std::string(rq.purpose);
  ev.justification = std::string(rq.justification);
  if (!out.rule_id.empty()) ev.details["rule"] = out.rule_id;
  if (rq.reveal_field != nullptr) ev.details["reveal"] = *rq.reveal_field;

  if (!d.allowed) {
    out.outcome = Outcome::kDenied;
    out.deny_reason = std::string(policy::DenyReasonName(d.deny));
    out.message = engine_.Reason(d);
    ev.kind = audit::EventKind::kDenial;
    ev.decision = "deny";
    ev.reason = out.deny_reason;
    ev.fields = requested_fields;
    ev.details["explanation"] = out.message;
    pending->step = PendingRead::Step::kDenied;  // the guard scores it once it is recorded
    return false;
  }

  out.quota = quotas_.Acquire(caller.principal.account, rq.person, caller.quota, rq.now);
  if (!out.quota.allowed) {
    out.outcome = Outcome::kQuota;
    out.message = StrCat("quota of ", out.quota.limit, " distinct people per ", out.quota.window, " reached");
    ev.kind = audit::EventKind::kGuardAction;
    ev.decision = "deny";
    ev.reason = StrCat("quota_per_", out.quota.window);
    ev.numbers["limit"] = out.quota.limit;
    ev.numbers["reset_at_micros"] = out.quota.reset_at;
    pending->step = PendingRead::Step::kQuota;
    return false;
  }

  if (deps_.guard != nullptr) {
    const PersonId persons[1] = {rq.person};
    guard::Access access = AccessFor(caller, rq.person, rq.now, persons);
    access.kind = rq.reveal_field != nullptr ? guard::AccessKind::kReveal : guard::AccessKind::kRead;
    out.verdict = deps_.guard->Assess(access);
    const Outcome o = ApplyVerdict(caller, out.verdict, rq.now, rq.reveal_field ? "reveal" : "read");
    if (o != Outcome::kOk) {
      out.outcome = o;
      out.message = o == Outcome::kStepUp
                        ? "unusual activity on this account: confirm with a fresh TOTP code (step-up) to continue"
                    : o == Outcome::kThrottled
                        ? "unusual activity on this account: reads are paused; a security officer has been alerted"
                        : "this account has been suspended after unusual activity; a security officer has been alerted";
      *done = std::move(out);
      return true;
    }
  }

  // Durable before anything personal is read.
  const FieldCatalog& cat = pol.catalog();
  out.field_names.reserve(static_cast<size_t>(d.fields.count()));
  for (size_t i = 0; i < cat.size(); ++i)
    if (d.fields.has(i)) out.field_names.push_back(cat.at(i).name);
  for (size_t i = 0; i < cat.size(); ++i)
    if (d.revealed.has(i)) out.revealed.push_back(cat.at(i).name);
  ev.kind = audit::EventKind::kRead;
  ev.decision = "allow";
  ev.reason = out.rule_id;
  ev.fields = out.field_names;
  pending->step = PendingRead::Step::kRead;
  return false;
}

guard::Access Gate::AccessFor(const Caller& caller, PersonId person, UnixMicros now,
                              std::span<const PersonId> persons) const {
  guard::Access access;
  access.time = now;
  access.account = caller.principal.account;
  access.source = caller.source;
  access.persons = persons;
  access.step_up_done = caller.step_up_done;
  access.referent = deps_.index->ReferentCounsellor(person);
  return access;
}

ReadResult Gate::Complete(const Caller& caller, PendingRead&& pending, const Status& appended) {
  ReadResult out = std::move(pending.result);
  if (!appended.ok()) {
    out.outcome = Outcome::kUnavailable;
    out.message = pending.step == PendingRead::Step::kRead ? "the audit log is unavailable; nothing was read"
                                                           : "the audit log is unavailable";
    return out;
  }
  if (pending.step == PendingRead::Step::kQuota) return out;
  if (pending.step == PendingRead::Step::kDenied) {
    // A denied attempt is a signal too (probing out-of-scope ids).
    if (deps_.guard != nullptr) {
      const PersonId persons[1] = {pending.person};
      guard::Access access = AccessFor(caller, pending.person, pending.now, persons);
      access.kind = guard::AccessKind::kDenied;
      out.verdict = deps_.guard->Assess(access);
      ApplyVerdict(caller, out.verdict, pending.now, "denied read");
    }
    return out;
  }
  if (!options_.read_store || deps_.store == nullptr) return out;

  const policy::Decision& d = out.decision;
  const FieldCatalog& cat = deps_.policy->catalog();
  StatusOr<Person> person = NotFound("");
  {
    std::lock_guard lock(*store_mu_);
    person = deps_.store->GetPerson(pending.person, d.fields.ToFieldMask(cat.size()));
  }
  if (!person.ok()) {
    // The read entry is durable and says the fields were released; they were
    // not. A missing row for an id the policy allowed (so the relation index
    // knows it) is an inconsistency between index and store, not the
    // caller's fault, and is told apart from a failing store. Store messages
    // may name files or SQL: they are not passed on.
    const bool missing = person.status().code() == absl::StatusCode::kNotFound;
    out.outcome = missing ? Outcome::kMissingRecord : Outcome::kError;
    out.message = missing ? "the record is not in the store although the relation index knows it; nothing was read"
                          : "the store failed; nothing was read";
    audit::Event failed;
    failed.kind = audit::EventKind::kSystem;
    failed.time = pending.now;
    failed.account = caller.principal.account;
    failed.session = caller.session;
    failed.source = caller.source;
    failed.persons = {pending.person};
    failed.purpose = pending.purpose;
    failed.decision = "read_failed";
    failed.reason = missing ? "record_missing" : "store_error";
    Append(failed).IgnoreError();  // best effort: the answer is 503 either way
    out.fields.clear();
    return out;
  }
  out.fields.reserve(static_cast<size_t>(d.fields.count()));
  for (size_t i = 0; i < cat.size() && i < person->fields.size(); ++i)
    if (d.fields.has(i)) out.fields.push_back(std::move(person->fields[i]));
  return out;
}

void Gate::BeginReadBatch() {
  if (!options_.read_store || deps_.store == nullptr) return;
  std::lock_guard lock(*store_mu_);
  deps_.store->BeginReadBatch();
}

void Gate::EndReadBatch() {
  if (!options_.read_store || deps_.store == nullptr) return;
  std::lock_guard lock(*store_mu_);
  deps_.store->EndReadBatch();
}

ReadResult Gate::ReleasePage(const Caller& caller, guard::AccessKind kind, std::span<const PersonId> persons,
                             std::string_view query, int64_t page, UnixMicros now, const audit::Event* entry) {
  ReadResult out;
  if (deps_.guard != nullptr) {
    guard::Access access;
    access.time = now;
    access.account = caller.principal.account;
    access.kind = kind;
    access.source = caller.source;
    access.persons = persons;
    access.query = query;
    access.page = page;
    access.step_up_done = caller.step_up_done;
    out.verdict = deps_.guard->Assess(access);
    const Outcome o = ApplyVerdict(caller, out.verdict, now, guard::AccessKindName(kind));
    if (o != Outcome::kOk) {
      out.outcome = o;
      out.message = o == Outcome::kStepUp ? "unusual activity on this account: confirm with a fresh TOTP code (step-up)"
                    : o == Outcome::kThrottled ? "unusual activity on this account: listings are paused"
                                               : "this account has been suspended after unusual activity";
      return out;
    }
  }
  if (entry != nullptr) {
    if (Status s = Append(*entry); !s.ok()) {
      out.outcome = Outcome::kUnavailable;
      out.message = "the audit log is unavailable; nothing was sent";
    }
    return out;
  }
  audit::Event ev;
  ev.kind = audit::EventKind::kRead;
  ev.time = now;
  ev.account = caller.principal.account;
  ev.session = caller.session;
  ev.source = caller.source;
  ev.persons.assign(persons.begin(), persons.end());
  ev.decision = "allow";
  ev.reason = std::string(guard::AccessKindName(kind));
  ev.details["kind"] = std::string(guard::AccessKindName(kind));
  if (!query.empty()) ev.details["query"] = std::string(query);
  ev.numbers["page"] = page;
  if (Status s = Append(ev); !s.ok()) {
    out.outcome = Outcome::kUnavailable;
    out.message = "the audit log is unavailable; nothing was sent";
  }
  return out;
}

}  // namespace cloison::access
