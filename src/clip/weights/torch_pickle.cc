#include "clip/weights/torch_pickle.h"

#include <unordered_map>

namespace hesp::clip::weights {
namespace {

// Values live in one arena and refer to each other by index: memo references may form
// cycles (a list appended to itself) and an arena never recurses or leaks on them.
enum class Kind {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

struct Value {
  Kind kind = Kind::kNone;
  int64_t i = 0;  // bool, int; storage numel
  double f = 0;
  std::string s, s2;          // string; global module and name; storage key
  std::vector<size_t> items;  // tuple, list; dict as key, value, key, value...
  DType dtype = DType::kF32;  // storage
  size_t storage = 0;         // tensor: index of its storage value
  int64_t offset = 0;         // tensor
  std::vector<int64_t> sizes, strides;
};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kTuple:
      return "tuple";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return "dict";
    case Kind::kGlobal:
      return "global";
    case Kind::kStorage:
      return "storage";
    case Kind::kTensor:
      return "tensor";
  }
  return "?";
}

bool storage_dtype(const std::string& type_name, DType* out) {
  static const std::pair<const char*, DType> kTable[] = {
      {"FloatStorage", DType::kF32},     {"HalfStorage", DType::kF16},
      {"BFloat16Storage", DType::kBF16}, {"DoubleStorage", DType::kF64},
      {"LongStorage", DType::kI64},      {"IntStorage", DType::kI32},
      {"ShortStorage", DType::kI16},     {"CharStorage", DType::kI8},
      {"ByteStorage", DType::kU8},       {"BoolStorage", DType::kBool}};
  for (const auto& [name, d] : kTable) {
    if (type_name == name) {
      *out = d;
      return true;
    }
  }
  return false;
}

class Unpickler {
 public:
  Unpickler(ByteSpan bytes, std::string what) : r_(bytes, what + " (pickle)"), what_(what) {}

  std::vector<PickledTensor> run();

 private:
  // Bounds that keep hostile inputs from exhausting memory.
  static constexpr size_t kMaxValues = 50'000'000;

  size_t make(Value v) {
    if (arena_.size() >= kMaxValues) r_.fail("too many values");
    arena_.push_back(std::move(v));
    return arena_.size() - 1;
  }
  size_t make_kind(Kind k) {
    Value v;
    v.kind = k;
    return make(std::move(v));
  }
  size_t make_int(int64_t i) {
    Value v;
    v.kind = Kind::kInt;
    v.i = i;
    return make(std::move(v));
  }
  size_t make_string(std::string_view s) {
    Value v;
    v.kind = Kind::kString;
    v.s = std::string(s);
    return make(std::move(v));
  }
  void push(size_t v) { stack_.push_back(v); }
  size_t pop() {
    if (stack_.size() <= floor()) r_.fail("stack underflow");
    const size_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  size_t top() {
    if (stack_.size() <= floor()) r_.fail("stack underflow");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Pops everything above the last MARK (and the mark).
  std::vector<size_t> pop_mark() {
    if (marks_.empty()) r_.fail("no MARK on the stack");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<size_t> items(stack_.begin() + m, stack_.end());
    stack_.resize(m);
    return items;
  }
  Value& expect(size_t v, Kind k, const char* role) {
    if (arena_[v].kind != k) {
      r_.fail(std::string(role) + " should be a " + kind_name(k) + " but is a " +
              kind_name(arena_[v].kind));
    }
    return arena_[v];
  }
  void memo_put(uint32_t key) { memo_[key] = top(); }
  size_t memo_get(uint32_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) r_.fail("memo key " + std::to_string(key) + " not defined");
    return it->second;
  }
  std::vector<int64_t> int_tuple(size_t v, const char* role) {
    std::vector<int64_t> out;
    for (size_t item : expect(v, Kind::kTuple, role).items) {
      out.push_back(expect(item, Kind::kInt, role).i);
    }
    return out;
  }
  void set_items(size_t dict, const std::vector<size_t>& kv) {
    if (kv.size() % 2 != 0) r_.fail("SETITEMS with an odd number of items");
    auto& d = expect(dict, Kind::kDict, "SETITEMS target");
    d.items.insert(d.items.end(), kv.begin(), kv.end());
  }
  void reduce();
  void persistent_id();

  ByteReader r_;
  std::string what_;
  std::vector<Value> arena_;
  std::vector<size_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, size_t> memo_;
};

void Unpickler::persistent_id() {
  const size_t pid = pop();
  const auto items = expect(pid, Kind::kTuple, "persistent id").items;
  if (items.size() != 5) r_.fail("persistent id should have 5 fields");
  if (expect(items[0], Kind::kString, "persistent id tag").s != "storage") {
    r_.fail("persistent id is not a storage");
  }
  const Value& type = expect(items[1], Kind::kGlobal, "storage type");
  Value v;
  v.kind = Kind::kStorage;
  if (type.s != "torch" || !storage_dtype(type.s2, &v.dtype)) {
    r_.fail("unsupported storage type " + type.s + "." + type.s2);
  }
  v.s = expect(items[2], Kind::kString, "storage key").s;
  expect(items[3], Kind::kString, "storage location");
  v.i = expect(items[4], Kind::kInt, "storage numel").i;
  if (v.i < 0) r_.fail("negative storage size");
  push(make(std::move(v)));
}

void Unpickler::reduce() {
  const size_t args_index = pop();
  const size_t callable = pop();
  const Value& fn = expect(callable, Kind::kGlobal, "REDUCE callable");
  const std::string full = fn.s + "." + fn.s2;
  const auto args = expect(args_index, Kind::kTuple, "REDUCE arguments").items;
  if (full == "collections.OrderedDict" || full == "builtins.dict") {
    if (!args.empty()) r_.fail(full + " called with arguments");
    push(make_kind(Kind::kDict));
  } else if (full == "torch._utils._rebuild_tensor_v2" || full == "torch._utils._rebuild_tensor") {
    if (args.size() < 4) r_.fail(full + " needs at least 4 arguments");
    Value t;
    t.kind = Kind::kTensor;
    expect(args[0], Kind::kStorage, "tensor storage");
    t.storage = args[0];
    t.offset = expect(args[1], Kind::kInt, "tensor storage offset").i;
    t.sizes = int_tuple(args[2], "tensor size");
    t.strides = int_tuple(args[3], "tensor stride");
    if (t.sizes.size() != t.strides.size()) r_.fail("tensor size and stride ranks differ");
    push(make(std::move(t)));
  } else if (full == "torch._utils._rebuild_parameter" ||
             full == "torch._utils._rebuild_parameter_with_state") {
    if (args.empty()) r_.fail(full + " without arguments");
    expect(args[0], Kind::kTensor, "parameter data");
    push(args[0]);
  } else {
    r_.fail("unsupported callable " + full + " (not a torch.save state dict?)");
  }
}

std::vector<PickledTensor> Unpickler::run() {
  for (;;) {
    const uint8_t op = r_.u8();
    switch (op) {
      case 0x80: {  // PROTO
        const uint8_t proto = r_.u8();
        if (proto > 5) r_.fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95:
        r_.u64();
        break;     // FRAME (protocol 4): a size hint only
      case 'c': {  // GLOBAL module\nname\n
        Value v;
        v.kind = Kind::kGlobal;
        v.s = std::string(r_.until('\n'));
        v.s2 = std::string(r_.until('\n'));
        push(make(std::move(v)));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const size_t name = pop(), module = pop();
        Value v;
        v.kind = Kind::kGlobal;
        v.s = expect(module, Kind::kString, "STACK_GLOBAL module").s;
        v.s2 = expect(name, Kind::kString, "STACK_GLOBAL name").s;
        push(make(std::move(v)));
        break;
      }
      case '(':
        marks_.push_back(stack_.size());
        break;
      case 't': {
        Value v;
        v.kind = Kind::kTuple;
        v.items = pop_mark();
        push(make(std::move(v)));
        break;
      }
      case ')':
        push(make_kind(Kind::kTuple));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        Value v;
        v.kind = Kind::kTuple;
        v.items.resize(op - 0x84);
        for (size_t i = v.items.size(); i-- > 0;) v.items[i] = pop();
        push(make(std::move(v)));
        break;
      }
      case ']':
        push(make_kind(Kind::kList));
        break;
      case 'l': {
        Value v;
        v.kind = Kind::kList;
        v.items = pop_mark();
        push(make(std::move(v)));
        break;
      }
      case 'a': {
        const size_t item = pop();
        expect(top(), Kind::kList, "APPEND target").items.push_back(item);
        break;
      }
      case 'e': {
        const auto items = pop_mark();
        auto& list = expect(top(), Kind::kList, "APPENDS target");
        list.items.insert(list.items.end(), items.begin(), items.end());
        break;
      }
      case '}':
        push(make_kind(Kind::kDict));
        break;
      case 'd': {
        const auto kv = pop_mark();
        const size_t d = make_kind(Kind::kDict);
        set_items(d, kv);
        push(d);
        break;
      }
      case 's': {
        const size_t value = pop(), key = pop();
        set_items(top(), {key, value});
        break;
      }
      case 'u': {
        const auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'J':
        push(make_int(static_cast<int32_t>(r_.u32())));
        break;
      case 'K':
        push(make_int(r_.u8()));
        break;
      case 'M':
        push(make_int(r_.u16()));
        break;
      case 0x8a: {  // LONG1: n little-endian two's complement bytes
        const uint8_t n = r_.u8();
        if (n > 8) r_.fail("integer wider than 64 bits");
        const std::string_view b = r_.bytes(n);
        uint64_t u = 0;
        for (size_t i = 0; i < n; ++i)
          u |= static_cast<uint64_t>(static_cast<uint8_t>(b[i])) << (8 * i);
        if (n > 0 && n < 8 && (static_cast<uint8_t>(b[n - 1]) & 0x80)) u |= ~0ull << (8 * n);
        push(make_int(static_cast<int64_t>(u)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const std::string_view b = r_.bytes(8);
        uint64_t u = 0;
        for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(b[i]);
        Value v;
        v.kind = Kind::kFloat;
        std::memcpy(&v.f, &u, 8);
        push(make(std::move(v)));
        break;
      }
      case 'X':
        push(make_string(r_.bytes(r_.u32())));
        break;
      case 0x8c:
        push(make_string(r_.bytes(r_.u8())));
        break;
      case 0x8d:
        push(make_string(r_.bytes(r_.u64())));
        break;
      case 'T':
        push(make_string(r_.bytes(r_.u32())));
        break;
      case 'U':
        push(make_string(r_.bytes(r_.u8())));
        break;
      case 'N':
        push(make_kind(Kind::kNone));
        break;
      case 0x88:
      case 0x89: {
        Value v;
        v.kind = Kind::kBool;
        v.i = op == 0x88;
        push(make(std::move(v)));
        break;
      }
      case 'R':
        reduce();
        break;
      case 'b': {  // BUILD: state (e.g. the state dict's _metadata) is not needed
        pop();
        const Kind k = arena_[top()].kind;
        if (k != Kind::kDict && k != Kind::kTensor)
          r_.fail("BUILD on a " + std::string(kind_name(k)));
        break;
      }
      case 'Q':
        persistent_id();
        break;
      case 'q':
        memo_put(r_.u8());
        break;
      case 'r':
        memo_put(r_.u32());
        break;
      case 0x94:
        memo_put(static_cast<uint32_t>(memo_.size()));
        break;  // MEMOIZE
      case 'h':
        push(memo_get(r_.u8()));
        break;
      case 'j':
        push(memo_get(r_.u32()));
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case '2':
        push(top());
        break;
      case '.': {  // STOP
        if (!marks_.empty() || stack_.size() != 1) r_.fail("STOP with a malformed stack");
        const Value& root = expect(stack_.back(), Kind::kDict, "top-level object");
        std::vector<PickledTensor> out;
        for (size_t i = 0; i + 1 < root.items.size(); i += 2) {
          const std::string& key = expect(root.items[i], Kind::kString, "state-dict key").s;
          const Value& value = arena_[root.items[i + 1]];
          if (value.kind != Kind::kTensor) {
            throw UserError(what_ + ": entry '" + key + "' is a " + kind_name(value.kind) +
                            ", not a tensor (only plain state dicts are supported)");
          }
          const Value& storage = arena_[value.storage];
          PickledTensor t;
          t.name = key;
          t.storage_key = storage.s;
          t.dtype = storage.dtype;
          t.storage_numel = storage.i;
          t.storage_offset = value.offset;
          t.sizes = value.sizes;
          t.strides = value.strides;
          out.push_back(std::move(t));
        }
        return out;
      }
      default:
        r_.fail("unsupported pickle opcode 0x" + [&] {
          const char* hex = "0123456789abcdef";
          return std::string{hex[op >> 4], hex[op & 15]};
        }());
    }
  }
}

}  // namespace

std::vector<PickledTensor> parse_torch_pickle(ByteSpan pickle, const std::string& what) {
  return Unpickler(pickle, what).run();
}

}  // namespace hesp::clip::weights
