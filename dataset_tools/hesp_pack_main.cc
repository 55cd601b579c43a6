// hesp-pack: converts AFEW / MAFW / DFEW / FERV39k trees and annotation lists into
// sharded HDF5 (docs/datasets.md), verifies and inspects packed datasets, and writes
// synthetic datasets in the real layouts for tests, benchmarks and the demo.
#include <hdf5.h>
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "comm/communicator.h"
#include "comm/communicator_factory.h"
#include "comm/job_end.h"
#include "comm/root_decision.h"
#include "convert.h"
#include "export.h"
#include "importers.h"
#include "synth.h"
#include "text_lines.h"
#include "util/errors.h"
#include "util/fs.h"
#include "util/logging.h"
#include "util/stop_signal.h"
#include "util/strings.h"
#include "verify_inspect.h"

namespace {

constexpr const char* kFormatsHelp = R"(Formats (--format) and their layouts:
  afew            ROOT/Train_AFEW/<Class>/<9-digit id>.avi (or <id>/ with frames), Val_AFEW/...
                  Each split folder's name is the split. .wav files are ignored.
                  hesp-pack convert --format afew --root /data/AFEW --output /data/afew-packed
  mafw            ROOT/data/frames/<5-digit id>/ or ROOT/data/clips/<id>.mp4,
                  ROOT/single_label.txt, ROOT/multi_label.txt,
                  ROOT/Train & Test Set/{single,compound}/{no_caption,with_caption}/set_N/{train,test}.txt
                  Options: --mafw-labels single|compound, --mafw-set N, --mafw-caption.
                  hesp-pack convert --format mafw --root /data/MAFW --mafw-set 1 --output out/
  reference-list  Lists of '<frame dir> <frames> <label> [<ClassName>]' relative to ROOT
                  (absolute or Windows paths from another machine are found under ROOT by
                  their trailing components).
                  hesp-pack convert --format reference-list --root /data/MAFW \
                    --list train=mafw_reference_train.txt --list test=mafw_reference_val.txt --output out/
  dfew            ROOT/Clip/clip_224x224/<05d>/*.jpg,
                  ROOT/EmoLabel_DataSplit/{train,test}(single-labeled)/set_N.csv (video_name,label 1..7)
                  hesp-pack convert --format dfew --root /data/DFEW --dfew-set 1 --output out/
  ferv39k         ROOT/2_ClipsforFaceCrop/<Scene>/<Emotion>/<id>/, ROOT/4_setups/All_scenes/{train,test}_All.csv
                  hesp-pack convert --format ferv39k --root /data/FERV39k --output out/
  csv             --csv FILE with lines 'path,label,split' (path: frame folder or video, relative to ROOT)
                  hesp-pack convert --format csv --root /data/mine --csv clips.csv --output out/
Class names: --class-names a,b,c fixes the label order; --map from=to (or --class-map FILE
with 'from to' lines) renames source classes (e.g. --map Angry=anger for fusion).
Text inputs may be UTF-8 (with or without BOM) or UTF-16 with BOM, CRLF, with or without
a header row. File-system litter (._*, .DS_Store, Thumbs.db, @eaDir, ...) is ignored.
Besides rejected.tsv, integrity.tsv lists label conflicts, leakage and byte-identical clips.
Run under 'mpirun -np N hesp-pack convert ...' to pack on N processes.)";

// Numeric pack flags, copied into PackParams after parsing.
struct PackFlags {
  int frames = 0, size = 224, quality = 95, shard_mb = 512;
  bool deflate = false;
};

// `convert`'s flags: the options CLI11 fills directly, and those turned into options after
// parsing (convert_options).
struct ConvertFlags {
  hesp::pack::ConvertOptions options;
  PackFlags pack;
  std::vector<std::string> lists, maps;
  std::string class_map_file, class_names, encoding = "jpeg", resize = "stretch";
  int dfew_set = 1;
};

// Every subcommand's flags.
struct Flags {
  ConvertFlags convert;
  std::string verify_dir;
  bool quick = false;
  std::string inspect_dir, dump_clip, dump_out;
  hesp::pack::SynthOptions synth;
  hesp::pack::ExportOptions exporter;
};

void add_convert(CLI::App& app, ConvertFlags& flags) {
  hesp::pack::ConvertOptions& o = flags.options;
  PackFlags& f = flags.pack;
  auto* c = app.add_subcommand("convert", "convert a dataset tree into sharded HDF5");
  c->footer(kFormatsHelp);
  c->add_option("--format", o.format, "afew|mafw|reference-list|dfew|ferv39k|csv")
      ->required()
      ->check(CLI::IsMember(hesp::pack::importer_formats()));
  c->add_option("--root", o.import.root, "dataset root folder")->required();
  c->add_option("--output", o.output, "output folder (shards, manifest.pbtxt, rejected.tsv)")
      ->required();
  c->add_option("--frames-per-clip", f.frames,
                "cap on stored frames per clip (0, the default: every source frame; a clip with "
                "more keeps the middle frame of each of T segments)")
      ->check(CLI::Range(0, 1 << 20));
  c->add_option("--size", f.size, "stored frame size S (S x S)")->check(CLI::Range(8, 4096));
  c->add_option("--encoding", flags.encoding, "jpeg|raw")->check(CLI::IsMember({"jpeg", "raw"}));
  c->add_option("--jpeg-quality", f.quality, "JPEG quality 1..100")->check(CLI::Range(1, 100));
  c->add_option("--resize", flags.resize, "stretch|center-crop")
      ->check(CLI::IsMember({"stretch", "center-crop"}));
  c->add_option("--shard-size-mb", f.shard_mb, "shard payload bound (MiB)")
      ->check(CLI::Range(1, 1 << 20));
  c->add_flag("--raw-deflate", f.deflate, "deflate raw frames");
  c->add_option("--threads", o.threads, "decode/encode threads per process (0: cores/ranks)");
  c->add_flag("--strict", o.strict,
              "any rejected clip or integrity finding (label conflict, leakage, duplicate "
              "content) is a fatal error");
  c->add_option("--class-map", flags.class_map_file, "file of 'from to' class renames");
  c->add_option("--map", flags.maps, "class rename from=to (repeatable)");
  c->add_option("--class-names", flags.class_names,
                "output class names in label order, comma-separated");
  c->add_option("--list", flags.lists, "reference-list: split=FILE (repeatable)");
  c->add_option("--csv", o.import.csv_file, "csv: annotation file (default ROOT/clips.csv)");
  c->add_option("--mafw-labels", o.import.mafw_labels, "single|compound")
      ->check(CLI::IsMember({"single", "compound"}));
  c->add_option("--mafw-set", o.import.dataset_set, "MAFW official fold 1..5 (0: all clips)")
      ->check(CLI::Range(0, 5));
  c->add_option("--mafw-caption", o.import.mafw_caption, "no_caption|with_caption split files")
      ->check(CLI::IsMember({"no_caption", "with_caption"}));
  c->add_option("--dfew-set", flags.dfew_set, "DFEW fold 1..5")->check(CLI::Range(1, 5));
  c->add_option("--source", o.import.source, "auto|frames|video: which media to read")
      ->check(CLI::IsMember({"auto", "frames", "video"}));
}

void add_verify_and_inspect(CLI::App& app, Flags& f) {
  auto* verify = app.add_subcommand("verify", "check checksums and structure, decode every frame");
  verify->add_option("dir", f.verify_dir, "packed dataset folder")->required();
  verify->add_flag("--quick", f.quick, "skip decoding frames");

  auto* inspect = app.add_subcommand("inspect", "counts per class x split, shards, parameters");
  inspect->add_option("dir", f.inspect_dir, "packed dataset folder")->required();
  inspect->add_option("--dump", f.dump_clip, "clip id whose frames to write as JPEGs");
  inspect->add_option("--out", f.dump_out, "folder for --dump");
}

void add_synth(CLI::App& app, hesp::pack::SynthOptions& syn) {
  auto* synth = app.add_subcommand("synth", "write a synthetic dataset in a real layout");
  synth->add_option("--layout", syn.layout, "afew|mafw|reference-list|dfew")
      ->required()
      ->check(CLI::IsMember({"afew", "mafw", "reference-list", "dfew"}));
  synth->add_option("--out", syn.out, "output folder")->required();
  synth->add_option("--clips-per-class", syn.clips_per_class, "clips per class");
  synth->add_option("--frames", syn.frames, "frames per clip (varied a little per clip)");
  synth->add_option("--size", syn.size, "frame size");
  synth->add_option("--seed", syn.seed, "random seed");
  synth->add_flag("--video", syn.video, "AFEW .avi / MAFW .mp4 instead of frame folders");
  synth->add_flag("--defects", syn.defects,
                  "plant one clip per bad-input case (DIR/expected_rejections.tsv)");
}

void add_export(CLI::App& app, hesp::pack::ExportOptions& exp) {
  auto* exporter = app.add_subcommand(
      "export", "write packed clips as PNG frame folders or lossless (FFV1) AVI videos");
  exporter->add_option("dir", exp.dir, "packed dataset folder")->required();
  exporter->add_option("--out", exp.out, "output folder")->required();
  exporter->add_option("--split", exp.split, "only clips of this split");
  exporter->add_option("--as", exp.as, "frames|video")->check(CLI::IsMember({"frames", "video"}));
  exporter->add_option("--max-clips", exp.max_clips, "at most this many clips (0: all)");
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  for (auto& item : hesp::strings::split(s, ',')) {
    if (!item.empty()) out.push_back(std::move(item));
  }
  return out;
}

// The renames of a --class-map file ('from to' or 'from,to' lines; # comments).
void read_class_map_file(const std::string& file, std::map<std::string, std::string>* map) {
  for (const auto& line : hesp::pack::read_text_lines(file, "--class-map file")) {
    auto f = hesp::pack::split_fields(line.text);
    if (f.size() == 1) f = hesp::pack::split_csv(line.text);  // "from,to"
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() != 2) {
      throw hesp::ConfigError(file + ":" + std::to_string(line.number) + ": want 'from to', got " +
                              hesp::pack::printable(line.text));
    }
    (*map)[f[0]] = f[1];
  }
}

// `convert`'s options from its flags: the pack parameters, the lists and the class names
// and renames. Throws ConfigError on a malformed --list, --map or --class-map line.
hesp::pack::ConvertOptions convert_options(const ConvertFlags& flags) {
  hesp::pack::ConvertOptions conv = flags.options;
  const PackFlags& f = flags.pack;
  conv.params.set_frames_per_clip(f.frames);
  conv.params.set_size(f.size);
  conv.params.set_jpeg_quality(f.quality);
  conv.params.set_shard_size_mb(f.shard_mb);
  conv.params.set_raw_deflate(f.deflate);
  conv.params.set_encoding(flags.encoding == "raw" ? hesp::data::PackParams::raw
                                                   : hesp::data::PackParams::jpeg);
  conv.params.set_resize(flags.resize == "center-crop" ? hesp::data::PackParams::center_crop
                                                       : hesp::data::PackParams::stretch);
  if (conv.format == "dfew") conv.import.dataset_set = flags.dfew_set;
  conv.import.class_names = split_commas(flags.class_names);
  for (const auto& l : flags.lists) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw hesp::ConfigError("--list wants split=FILE, got " + l);
    }
    conv.import.lists[l.substr(0, eq)] = l.substr(eq + 1);
  }
  if (!flags.class_map_file.empty())
    read_class_map_file(flags.class_map_file, &conv.import.class_map);
  for (const auto& m : flags.maps) {
    const auto eq = m.find('=');
    if (eq == std::string::npos) throw hesp::ConfigError("--map wants from=to, got " + m);
    conv.import.class_map[m.substr(0, eq)] = m.substr(eq + 1);
  }
  return conv;
}

int convert(const ConvertFlags& flags) {
  // First thing: SIGUSR1/SIGTERM (a job's end under SLURM) stop the packing after the
  // clip in hand, keep the complete shards and exit 75, instead of killing it (138).
  hesp::util::catch_stop_signals();
  const hesp::pack::ConvertOptions conv = convert_options(flags);
  auto comm = hesp::comm::world();
  hesp::logging::configure_for_rank(comm->rank(), false);
  return hesp::pack::run_convert(conv);
}

// The parsed subcommand. Errors end the job (every rank under mpirun) with their exit code.
int run_subcommand(const CLI::App& app, const Flags& f) {
  try {
    if (app.got_subcommand("convert")) return convert(f.convert);
    if (app.got_subcommand("verify")) return hesp::pack::run_verify(f.verify_dir, f.quick);
    if (app.got_subcommand("inspect")) {
      return hesp::pack::run_inspect(f.inspect_dir, f.dump_clip, f.dump_out);
    }
    if (app.got_subcommand("synth")) return hesp::pack::run_synth(f.synth);
    if (app.got_subcommand("export")) return hesp::pack::run_export(f.exporter);
  } catch (const hesp::UserError& e) {
    // Under mpirun (convert), an error of one rank ends the whole job at once.
    return hesp::comm::end_job_after_error(e.what(), e.exit_code(),
                                           hesp::comm::raised_on_every_rank(e), "hesp-pack");
  } catch (const std::exception& e) {
    // Never an abort on input we did not foresee: say what failed and exit 1.
    return hesp::comm::end_job_after_error(e.what(), hesp::kExitFailure, false, "hesp-pack");
  }
  return hesp::kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any other HDF5 call: no library clean-up at exit. After a failed write (a full
  // disk) HDF5 cannot close the shard and its exit handler would crash retrying
  // (H5F__close_cb); hesp closes and fsyncs every shard itself (data::ShardWriter).
  H5dont_atexit();
  hesp::logging::init(argv[0]);
  CLI::App app{"hesp-pack: convert facial-expression video datasets into sharded HDF5"};
  app.footer(kFormatsHelp);
  app.require_subcommand(1);
  Flags flags;
  add_convert(app, flags.convert);
  add_verify_and_inspect(app, flags);
  add_synth(app, flags.synth);
  add_export(app, flags.exporter);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return hesp::kExitConfigError;
  }
  return run_subcommand(app, flags);
}
