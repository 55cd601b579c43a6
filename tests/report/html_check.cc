// index.html of `hesp report` in headless Chromium: the page loads without a JavaScript
// error, its DOM holds one results table per setting and an <img> per figure, and every
// figure decodes as an image (a probe copy of the page records each image's natural size
// after the load event). Exit 0 = pass, 1 = fail, 77 = skipped (no chromium).
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>

#include "report/report.h"
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
std::string run(const std::string& cmd, const stdfs::path& err_file) {
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
    const std::string dom =
        run("timeout 120 chromium " + flags + " --dump-dom file://" + (dir / "out" / page).string(),
            err);
    const std::string log = fs::read_file(err);
    expect(log.find("Uncaught") == std::string::npos, std::string(page) + ": JS error:\n" + log);
    expect(dom.find("<table class=\"results\" id=\"table-afew\">") != std::string::npos,
           std::string(page) + ": no AFEW table in the DOM");
    expect(dom.find("<table class=\"results\" id=\"table-mafw\">") != std::string::npos,
           std::string(page) + ": no MAFW table in the DOM");
    expect(dom.find("n/a (1/2 done, 1 missing)") != std::string::npos,
           std::string(page) + ": the missing run's cell is not shown");
    const int imgs = count(dom, std::regex("<img src=\"figures/[^\"]+\\.svg\""));
    expect(imgs == figures, std::string(page) + ": " + std::to_string(imgs) + " <img> for " +
                                std::to_string(figures) + " figures");
    if (std::string(page) == "probe.html") {
      const int loaded = count(dom, std::regex("IMG figures/\\S+\\.svg [1-9][0-9]*\\n"));
      expect(loaded == figures, "only " + std::to_string(loaded) + " of " +
                                    std::to_string(figures) + " figures decoded:\n" + dom);
    }
  }
  if (failures == 0) {
    std::cout << "index.html: 2 tables and " << figures << " figures render in chromium\n";
    stdfs::remove_all(dir);
  }
  return failures == 0 ? 0 : 1;
}
