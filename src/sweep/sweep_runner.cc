#include "sweep/sweep_runner.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "comm/root_decision.h"
#include "run/run_directory.h"
#include "run/run_identity.h"
#include "run/run_result.h"
#include "util/dir_lock.h"
#include "util/errors.h"
#include "util/failpoint.h"
#include "util/fs.h"
#include "util/stop_signal.h"
#include "util/threads.h"

namespace hesp::sweep {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using util::FileLock;
using util::live_lock_holder;
using util::this_host;

json read_json(const stdfs::path& p) {
  try {
    return json::parse(fs::read_file(p));
  } catch (const std::exception&) {
    return json();  // Absent or half-written: the run is not finished.
  }
}

// The run's result.json; nullopt when it is absent or not a readable result (the run is
// not finished). A result of a newer hesp (run::RunResultVersionError) stops the sweep
// instead of being trained over.
std::optional<run::RunResult> read_result(const stdfs::path& run_dir) {
  const stdfs::path path = run::RunDirectory(run_dir).result();
  std::error_code ec;
  if (!stdfs::exists(path, ec)) return std::nullopt;
  try {
    return run::read_run_result(path);
  } catch (const run::RunResultVersionError&) {
    throw;
  } catch (const UserError&) {
    return std::nullopt;
  }
}

void write_status(const stdfs::path& run_dir, const PlannedRun& run, const std::string& status,
                  const std::string& error, double wall_s, int ranks, int group) {
  json j;
  j["status"] = status;
  j["config_hash"] = run.config_hash;
  j["wall_s"] = wall_s;
  j["ranks"] = ranks;
  j["group"] = group;
  j["host"] = this_host();
  if (!error.empty()) j["error"] = error;
  fs::atomic_write_file(run::RunDirectory(run_dir).sweep_status(), j.dump(1));
}

std::string new_session_id() {
  std::random_device rd;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%08x%08x", rd(), static_cast<unsigned>(getpid()));
  return buf;
}

bool claim(const stdfs::path& dir, int index) {
  const stdfs::path f = dir / std::to_string(index);
  const int fd = open(f.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return false;
  close(fd);
  return true;
}

// Trains one run with `group`; returns its exit code, 1 for a run that threw (on a group of
// several ranks only for an error every rank raised alike; others end the job). `threads` is
// the per-rank share of the node's cores among all of the sweep's ranks on it: a group of
// one rank would otherwise claim every core while the other groups train beside it.
int train_one(const PlannedRun& run, const SweepOptions& options, comm::Communicator& group,
              int group_id, int threads) {
  const stdfs::path run_dir = options.out / run.rel_dir;
  if (group.rank() == 0) stdfs::create_directories(run_dir);
  group.barrier();
  LOG(INFO) << "sweep: run " << run.index << " " << run.rel_dir.string() << " on " << group.size()
            << " rank(s)";
  const auto t0 = std::chrono::steady_clock::now();
  std::string error;
  int rc = 1;
  try {
    RunRequest request;
    request.run_dir = run_dir;
    request.threads = threads;
    request.log_all_ranks = options.log_all_ranks;
    rc = options.train_run(run.exp, request, group);
  } catch (const UserError& e) {
    // Another process writes this run's folder: not a failure of the run (util/dir_lock.h).
    if (e.exit_code() == util::kExitLocked) throw;
    // An error of one rank of a group is a crash of the job (the others would wait for it
    // in a collective): it ends the job at the top of main (comm::end_job_after_error).
    if (group.size() > 1 && !comm::decided_on_root(e)) throw;
    error = e.what();  // E.g. training diverged (kExitDiverged): recorded with its reason.
    rc = e.exit_code() == kExitOk ? kExitFailure : e.exit_code();
  } catch (const std::exception& e) {
    if (group.size() > 1) throw;
    error = e.what();
    rc = 1;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!error.empty()) LOG(ERROR) << "sweep: run " << run.rel_dir.string() << " failed: " << error;
  if (group.rank() == 0) {
    const std::string status = rc == 0 ? "finished" : rc == kExitPreempted ? "preempted" : "failed";
    write_status(run_dir, run, status,
                 error.empty() && rc != 0 && rc != kExitPreempted
                     ? "run_training returned " + std::to_string(rc)
                     : error,
                 wall, group.size(), group_id);
  }
  return rc;
}

// Records every run that fails its preconditions as failed, with the reason, before
// anything trains (rank 0 of the world). A run already finished keeps its result.
void mark_failing_preconditions(const SweepPlan& plan, const SweepOptions& options,
                                const std::vector<int>& runs) {
  for (const int i : runs) {
    const auto& run = plan.runs[static_cast<size_t>(i)];
    if (run_finished(run, options.out)) continue;
    const stdfs::path run_dir = options.out / run.rel_dir;
    stdfs::create_directories(run_dir);
    LOG(ERROR) << "sweep: run " << run.index << " " << run.rel_dir.string()
               << " failed: " << run.precondition_error;
    write_status(run_dir, run, "failed", run.precondition_error, 0, 0, -1);
  }
}

// Waits (sleeping, not spinning in an MPI collective that would steal the cores of groups
// still training) until every group has written its done file.
void wait_for_groups(const stdfs::path& dir, int groups) {
  for (;;) {
    int done = 0;
    for (int g = 0; g < groups; ++g) done += stdfs::exists(dir / ("done." + std::to_string(g)));
    if (done == groups) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int run_single(const SweepPlan& plan, const SweepOptions& options, comm::Communicator& world) {
  if (options.run_index >= static_cast<int>(plan.runs.size())) {
    throw ConfigError("--run-index " + std::to_string(options.run_index) +
                      " is out of range: the sweep has " + std::to_string(plan.runs.size()) +
                      " runs (0.." + std::to_string(plan.runs.size() - 1) + ")");
  }
  const auto& run = plan.runs[static_cast<size_t>(options.run_index)];
  // The run's folder itself is locked by run_training (util/dir_lock.h): one writer.
  comm::decide_on_root(world, [&] {
    const std::string holder = live_lock_holder(options.out / "sweep.lock");
    if (!holder.empty()) {
      throw UserError("output directory " + options.out.string() + " is in use by another sweep (" +
                          holder + ")",
                      util::kExitLocked);
    }
    return std::string();
  });
  int rc = 0;
  if (run_finished(run, options.out)) {
    LOG(INFO) << "sweep: run " << run.index << " " << run.rel_dir.string() << " already finished";
  } else if (!run.precondition_error.empty()) {
    if (world.rank() == 0) mark_failing_preconditions(plan, options, {run.index});
    rc = kExitConfigError;
  } else {
    rc = train_one(run, options, world, 0,
                   threads::threads_per_rank(options.threads, world.local_size()));
  }
  if (world.rank() == 0) write_summary(plan, options.out);
  if (rc == 0 || rc == kExitPreempted || rc == kExitConfigError || rc == kExitDiverged) return rc;
  return kExitFailure;
}

}  // namespace

bool run_finished(const PlannedRun& run, const stdfs::path& out) {
  const auto result = read_result(out / run.rel_dir);
  if (!result || result->config_hash.empty()) return false;
  if (result->config_hash == run.config_hash) return true;
  // Identity by content (run/run_identity.h): the same run whose data or weights are
  // now read from another path (e.g. ${HESP_SWEEP_DATA} on a new scratch folder).
  if (result->config_identity.empty() || result->config_identity != run::config_identity(run.exp)) {
    return false;
  }
  try {
    if (result->manifest_fingerprint != run::data_identity(run.exp).fingerprint ||
        result->clip_weights_sha256 != run::weights_sha256(run.exp.model().clip_weights())) {
      return false;
    }
  } catch (const UserError&) {
    return false;  // The data or weights are not readable where the plan says: train.
  }
  static std::set<int> said;
  if (said.insert(run.index).second) {
    LOG(INFO) << "sweep: run " << run.index << " " << run.rel_dir.string()
              << " finished with the same data and CLIP weights, now at another path";
  }
  return true;
}

void write_summary(const SweepPlan& plan, const stdfs::path& out) {
  json runs = json::array();
  std::map<std::string, int> counts;
  for (const auto& r : plan.runs) {
    const run::RunDirectory dir(out / r.rel_dir);
    json e;
    e["index"] = r.index;
    e["dir"] = r.rel_dir.string();
    e["setting"] = r.setting;
    e["method"] = config::Method_Name(r.exp.method());
    e["variant"] = r.variant;
    e["known"] = r.known;
    e["unknown"] = r.unknown;
    e["openness"] = r.openness;
    e["split"] = r.split;
    e["seed"] = r.seed;
    e["config_hash"] = r.config_hash;
    e["estimated_cost"] = r.cost;
    const json status = read_json(dir.sweep_status());
    const bool status_current =
        status.is_object() && status.value("config_hash", "") == r.config_hash;
    std::string state;
    if (run_finished(r, out)) {
      state = "finished";
      const auto result = read_result(dir.root());
      json m = result ? run::to_json(result->metrics) : json::object();
      m.erase("confusion");
      e["metrics"] = m;
    } else if (status_current && status.value("status", "") == "failed") {
      state = "failed";
      e["error"] = status.value("error", "");
    } else if (stdfs::exists(dir.checkpoints()) ||
               (status_current && status.value("status", "") == "preempted")) {
      state = "interrupted";
    } else {
      state = "pending";
    }
    if (status_current && status.contains("wall_s")) e["wall_s"] = status["wall_s"];
    if (status_current && status.contains("group")) e["group"] = status["group"];
    e["status"] = state;
    ++counts[state];
    runs.push_back(e);
  }
  json j;
  j["name"] = plan.config.name();
  j["num_runs"] = plan.runs.size();
  j["counts"] = counts;
  j["layout"] = "<setting>/<method>[-<variant>]/<K>-<U>/split<i>[-seed<s>]/result.json";
  j["runs"] = runs;
  // How `hesp report` shows the sweep: the kind, the title and the ablation rows in
  // sweep order (folder "<method>-<variant>" and the paper's row name).
  const SweepConfig& sweep = plan.config;
  const ReportConfig& rc = sweep.report();
  json report = {{"kind", ReportConfig::Kind_Name(rc.kind())},
                 {"title", rc.has_title() ? rc.title() : plan.config.name()}};
  json rows = json::array();
  for (const auto& r : plan.runs) {
    const bool seen =
        std::any_of(rows.begin(), rows.end(), [&](const json& x) { return x["dir"] == r.method; });
    if (seen) continue;
    std::string label = r.variant;
    for (const auto& v : plan.config.variants()) {
      if (v.name() == r.variant && v.has_label()) label = v.label();
    }
    rows.push_back({{"dir", r.method}, {"label", label.empty() ? r.method : label}});
  }
  report["rows"] = rows;
  j["report"] = report;
  fs::atomic_write_file(out / "sweep_summary.json", j.dump(1));
}

int run_sweep(const SweepPlan& plan, const SweepOptions& options, comm::Communicator& world) {
  util::catch_stop_signals();  // The CLI did already; for callers in code (tests).
  CHECK(options.train_run) << "SweepOptions::train_run is required";
  if (world.rank() == 0) stdfs::create_directories(options.out);
  world.barrier();
  if (options.run_index >= 0) return run_single(plan, options, world);

  const int g = options.group_size;
  if (g < 1 || world.size() % g != 0) {
    throw ConfigError("--group-size " + std::to_string(g) + " must divide the number of ranks (" +
                      std::to_string(world.size()) + ")");
  }
  const int groups = world.size() / g;
  std::unique_ptr<FileLock> lock;
  const std::string session = comm::decide_on_root(world, [&] {
    lock =
        FileLock::acquire(options.out / "sweep.lock", "output directory " + options.out.string());
    // Claims of a sweep that died are void: this sweep holds the lock now.
    std::error_code ec;
    stdfs::remove_all(options.out / ".claims", ec);
    std::string id = new_session_id();
    stdfs::create_directories(options.out / ".claims" / id);
    return id;
  });
  const stdfs::path claims = options.out / ".claims" / session;

  auto group = world.split(world.rank() / g, world.rank());
  const int group_id = world.rank() / g;
  // Runs failing their preconditions are failed at once; the others are trained.
  const std::vector<int> failing = failing_preconditions(plan);
  if (world.rank() == 0) mark_failing_preconditions(plan, options, failing);
  std::vector<int> order;
  for (const int i : longest_first(plan)) {
    const auto& run = plan.runs[static_cast<size_t>(i)];
    if (!run_finished(run, options.out) && run.precondition_error.empty()) order.push_back(i);
  }
  if (world.rank() == 0) {
    LOG(INFO) << "sweep " << plan.config.name() << ": " << plan.runs.size() << " runs, "
              << plan.runs.size() - order.size() << " already finished, " << groups
              << " group(s) of " << g << " rank(s)";
  }
  const int threads = threads::threads_per_rank(options.threads, world.local_size());
  size_t next = 0;
  bool preempted = false;
  int failed = 0;
  // Before every claim the group agrees on the process's stop flag (util/stop_signal.h): a
  // signal during the planning, a run or between two runs stops the group here.
  for (;;) {
    const bool stop = comm::stop_requested_on_any_rank(*group);
    int64_t index = -1;
    if (!stop && group->rank() == 0) {
      while (next < order.size()) {
        const int candidate = order[next++];
        if (claim(claims, candidate)) {
          index = candidate;
          break;
        }
      }
    }
    index = group->all_reduce_int(index, comm::ReduceOp::kMax);
    if (stop) {
      preempted = true;
      break;
    }
    if (index < 0) break;
    const int rc =
        train_one(plan.runs[static_cast<size_t>(index)], options, *group, group_id, threads);
    if (rc == kExitPreempted) {
      preempted = true;
      break;
    }
    if (rc != 0) ++failed;
    // Tests of a stop signal between two runs hold the group here (util/failpoint.h).
    util::failpoint("sweep.between_runs", util::stop_requested);
  }
  if (group->rank() == 0) fs::atomic_write_file(claims / ("done." + std::to_string(group_id)), "");
  wait_for_groups(claims, groups);
  world.barrier();
  preempted = world.all_reduce_int(preempted ? 1 : 0, comm::ReduceOp::kMax) != 0;
  failed =
      static_cast<int>(world.all_reduce_int(group->rank() == 0 ? failed : 0, comm::ReduceOp::kSum));
  for (const int i : failing)
    failed += !run_finished(plan.runs[static_cast<size_t>(i)], options.out);
  // A stop after the last run left nothing to resume: the sweep is finished, not preempted.
  if (preempted && comm::decide_on_root(world, [&] {
                     for (const int i : order) {
                       if (!run_finished(plan.runs[static_cast<size_t>(i)], options.out)) {
                         return std::string("unfinished");
                       }
                     }
                     return std::string("all finished");
                   }) == "all finished") {
    preempted = false;
  }
  if (world.rank() == 0) {
    write_summary(plan, options.out);
    std::error_code ec;
    stdfs::remove_all(options.out / ".claims", ec);
    lock.reset();
    LOG(INFO) << "sweep " << plan.config.name() << ": summary in "
              << (options.out / "sweep_summary.json").string()
              << (preempted ? " (preempted: rerun to continue)" : "")
              << (failed ? " (" + std::to_string(failed) + " run(s) failed)" : std::string());
  }
  if (preempted) return kExitPreempted;
  return failed > 0 ? kExitFailure : kExitOk;
}

}  // namespace hesp::sweep
