// index.html of `hesp report` in headless Chromium: the page loads without a JavaScript
// error, its DOM holds one results table per setting and an <img> per figure, and every
// figure decodes as an image (a probe copy of the page records each image's natural size
// after the load event), and no text of any figure is cut at the figure's edge (measured
// in Chromium on the SVGs inlined into one page). Exit 0 = pass, 1 = fail, 77 = skipped (no
// chromium).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "run/test_features.h"
#include "sweep_fixture.h"
#include "util/fs.h"

namespace stdfs = std::filesystem;
using namespace hesp;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAIL: " << what << "\n";
    ++failures;
  }
}

// Runs a shell command, returns its stdout; stderr goes to `err_file`.
std::string run_command(const std::string& cmd, const stdfs::path& err_file) {
  FILE* pipe = popen((cmd + " 2>" + err_file.string()).c_str(), "r");
  if (!pipe) return {};
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

int count(const std::string& s, const std::regex& re) {
  return static_cast<int>(
      std::distance(std::sregex_iterator(s.begin(), s.end(), re), std::sregex_iterator()));
}

}  // namespace

int main() {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) {
    std::cout << "chromium not found: skipping\n";
    return 77;
  }
  const stdfs::path dir = report::testing::fresh_dir("html");
  report::testing::SweepSpec spec;
  spec.settings = {"afew", "mafw"};
  spec.methods = {"hesp", "clip_zeroshot"};
  spec.splits = 2;
  report::testing::write_sweep(dir, spec);
  stdfs::remove_all(dir / "mafw/hesp/3-4/split1");  // An n/a cell must render too.
  // Every kind of figure: test-feature plots (Fig. 6) from test_features.h5 beside each
  // result.json, and ablation bars (Fig. 3) from the summary's report entry.
  for (const auto& e : stdfs::recursive_directory_iterator(dir)) {
    if (e.path().filename() != "result.json") continue;
    const auto j = nlohmann::json::parse(fs::read_file(e.path()));
    run::TestFeatures f;
    f.features = torch::randn({static_cast<int64_t>(j["clips"].size()), 8});
    for (const auto& c : j["clips"]) {
      f.clip_ids.push_back(c["clip_id"]);
      f.labels.push_back(c["label"].get<int32_t>());
    }
    run::write_test_features(e.path().parent_path() / "test_features.h5", f);
  }
  fs::atomic_write_file(
      dir / "sweep_summary.json",
      nlohmann::json{{"runs", nlohmann::json::array()},
                     {"report",
                      {{"kind", "ablation_bars"},
                       {"title", "Fig. 3 (b): visual prompt types"},
                       {"rows",
                        {{{"dir", "hesp"}, {"label", "CAM box with a long configuration name"}},
                         {{"dir", "clip_zeroshot"}, {"label", "random patch"}}}}}}}
          .dump());
  const auto out = report::write_report({dir, dir / "out", {"md", "csv", "html"}});
  int figures = 0;
  for (const auto& f : out.files) figures += f.extension() == ".svg";

  // The probe: the same page plus a script that, once everything has loaded, writes each
  // image's source and natural width into the DOM.
  std::string html = fs::read_file(dir / "out/index.html");
  const std::string probe_script =
      "<script>window.addEventListener('load', function () {"
      "var out = document.createElement('pre'); out.id = 'probe';"
      "document.querySelectorAll('img').forEach(function (img) {"
      "out.textContent += 'IMG ' + img.getAttribute('src') + ' ' + img.naturalWidth + '\\n';"
      "}); document.body.appendChild(out); });</script>\n";
  html.insert(html.find("</body>"), probe_script);
  fs::atomic_write_file(dir / "out/probe.html", html);

  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--enable-logging=stderr --v=0 --virtual-time-budget=10000 --user-data-dir=" +
      (dir / "chromium-profile").string();
  for (const char* page : {"index.html", "probe.html"}) {
    const stdfs::path err = dir / (std::string(page) + ".stderr");
    const std::string dom = run_command(
        "timeout 120 chromium " + flags + " --dump-dom file://" + (dir / "out" / page).string(),
        err);
    const std::string log = fs::read_file(err);
    expect(log.find("Uncaught") == std::string::npos, std::string(page) + ": JS error:\n" + log);
    expect(dom.find("<table class=\"results\" id=\"table-afew\">") != std::string::npos,
           std::string(page) + ": no AFEW table in the DOM");
    expect(dom.find("<table class=\"results\" id=\"table-mafw\">") != std::string::npos,
           std::string(page) + ": no MAFW table in the DOM");
    expect(dom.find("n/a (1/2 done, 1 missing)") != std::string::npos,
           std::string(page) + ": the missing run's cell is not shown");
    // Against the paper: AFEW (ViT-B/32, K + U = 7) is compared, MAFW at 5:2 / 3:4 is not.
    expect(dom.find("Compared with the paper's Table 1.") != std::string::npos,
           std::string(page) + ": AFEW is not compared with the paper");
    expect(dom.find("<strong>Not compared with the paper:</strong> datasets mafw") !=
               std::string::npos,
           std::string(page) + ": MAFW at 5:2 does not say why it is not compared");
    expect(dom.find("<img src=\"figures/paper_afew.svg\"") != std::string::npos,
           std::string(page) + ": no figure against the paper");
    const int imgs = count(dom, std::regex("<img src=\"figures/[^\"]+\\.svg\""));
    expect(imgs == figures, std::string(page) + ": " + std::to_string(imgs) + " <img> for " +
                                std::to_string(figures) + " figures");
    if (std::string(page) == "probe.html") {
      const int loaded = count(dom, std::regex("IMG figures/\\S+\\.svg [1-9][0-9]*\\n"));
      expect(loaded == figures, "only " + std::to_string(loaded) + " of " +
                                    std::to_string(figures) + " figures decoded:\n" + dom);
    }
  }
  // Nothing is cut at a figure's edge: every SVG inlined into one page, whose script
  // compares the rendered box of each <text> (transforms included, e.g. rotated tick
  // labels) with its figure's box.
  std::string inline_page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n";
  for (const auto& f : out.files) {
    if (f.extension() != ".svg") continue;
    std::string svg = fs::read_file(f);
    svg.erase(0, svg.find("<svg"));
    inline_page += "<div data-file=\"" + f.filename().string() + "\">" + svg + "</div>\n";
  }
  inline_page +=
      "<script>window.addEventListener('load', function () {"
      "var out = document.createElement('pre'); out.id = 'bounds'; var n = 0;"
      "document.querySelectorAll('div[data-file]').forEach(function (d) {"
      "var svg = d.querySelector('svg'); var r = svg.getBoundingClientRect();"
      "svg.querySelectorAll('text').forEach(function (t) {"
      "var b = t.getBoundingClientRect(); n++;"
      "if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 ||"
      " b.bottom > r.bottom + 0.5) out.textContent += 'CUT ' + d.dataset.file + ': ' +"
      " t.textContent + '\\n'; });"
      // A readable legend: its entries do not overlap one another and are at least 10 px.
      "var ls = Array.from(svg.querySelectorAll('g.legend text')).map(function (t) {"
      " return [t, t.getBoundingClientRect()]; });"
      "ls.forEach(function (a, i) { if (a[1].height < 10) out.textContent += 'SMALL ' +"
      " d.dataset.file + ': ' + a[0].textContent + '\\n';"
      " ls.slice(i + 1).forEach(function (b) {"
      " if (a[1].left < b[1].right && b[1].left < a[1].right && a[1].top < b[1].bottom &&"
      " b[1].top < a[1].bottom) out.textContent += 'OVERLAP ' + d.dataset.file + ': ' +"
      " a[0].textContent + ' / ' + b[0].textContent + '\\n'; }); }); });"
      "out.textContent += 'TEXTS ' + n + '\\n'; document.body.appendChild(out); });</script>\n"
      "</body></html>\n";
  fs::atomic_write_file(dir / "out/bounds.html", inline_page);
  {
    const std::string dom = run_command("timeout 120 chromium " + flags + " --dump-dom file://" +
                                            (dir / "out/bounds.html").string(),
                                        dir / "bounds.stderr");
    // Only the report the script appended (its own source names the words too).
    const size_t at = dom.find("<pre id=\"bounds\">");
    const std::string measured =
        at == std::string::npos ? std::string() : dom.substr(at, dom.find("</pre>", at) - at);
    expect(std::regex_search(measured, std::regex("TEXTS [1-9][0-9]*")),
           "bounds.html: the text boxes were not measured:\n" + dom.substr(0, 2000));
    const int cut = count(measured, std::regex("CUT [^\n]*"));
    expect(cut == 0,
           "bounds.html: " + std::to_string(cut) + " text(s) cut at a figure's edge:\n" + measured);
    const int unreadable = count(measured, std::regex("(OVERLAP|SMALL) [^\n]*"));
    expect(unreadable == 0, "bounds.html: " + std::to_string(unreadable) +
                                " legend entries overlap or are too small:\n" + measured);
  }
  if (failures == 0) {
    std::cout << "index.html: 2 tables and " << figures << " figures render in chromium\n";
    stdfs::remove_all(dir);
  }
  return failures == 0 ? 0 : 1;
}
