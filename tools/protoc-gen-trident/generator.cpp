#include "generator.hpp"

#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>

namespace trident::codegen {
namespace {

namespace pb = google::protobuf;

using Vars = std::map<std::string, std::string>;

// "$name$" → vars["name"]; "$$" → "$".
std::string Sub(std::string_view text, const Vars& vars) {
  std::string out;
  out.reserve(text.size() + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, dollar - i));
    std::size_t end = text.find('$', dollar + 1);
    if (end == std::string_view::npos) {
      out.append(text.substr(dollar));
      break;
    }
    std::string name(text.substr(dollar + 1, end - dollar - 1));
    if (name.empty()) {
      out.push_back('$');
    } else {
      auto it = vars.find(name);
      out.append(it == vars.end() ? "$" + name + "$" : it->second);
    }
    i = end + 1;
  }
  return out;
}

// C++ keywords and alternative tokens: protoc's C++ generator appends '_' to
// a message name in this set (libprotoc 3.21 lists every one up to C++17; the
// C++20 ones make no valid class name either way, so newer protoc renames them).
const std::set<std::string, std::less<>>& Keywords() {
  static const std::set<std::string, std::less<>> words = {
      "NULL",         "alignas",   "alignof",       "and",
      "and_eq",       "asm",       "auto",          "bitand",
      "bitor",        "bool",      "break",         "case",
      "catch",        "char",      "char8_t",       "char16_t",
      "char32_t",     "class",     "compl",         "concept",
      "const",        "consteval", "constexpr",     "constinit",
      "const_cast",   "continue",  "co_await",      "co_return",
      "co_yield",     "decltype",  "default",       "delete",
      "do",           "double",    "dynamic_cast",  "else",
      "enum",         "explicit",  "export",        "extern",
      "false",        "float",     "for",           "friend",
      "goto",         "if",        "inline",        "int",
      "long",         "mutable",   "namespace",     "new",
      "noexcept",     "not",       "not_eq",        "nullptr",
      "operator",     "or",        "or_eq",         "private",
      "protected",    "public",    "register",      "reinterpret_cast",
      "requires",     "return",    "short",         "signed",
      "sizeof",       "static",    "static_assert", "static_cast",
      "struct",       "switch",    "template",      "this",
      "thread_local", "throw",     "true",          "try",
      "typedef",      "typeid",    "typename",      "union",
      "unsigned",     "using",     "virtual",       "void",
      "volatile",     "wchar_t",   "while",         "xor",
      "xor_eq"};
  return words;
}

// Names the C and C++ standard libraries (or glibc) define as macros: a
// method `assert(...)` would be expanded. Avoided for our own identifiers.
const std::set<std::string, std::less<>>& MacroNames() {
  static const std::set<std::string, std::less<>> words = {
      "EOF",    "assert",  "errno",  "offsetof", "setjmp", "stdin", "stdout", "stderr",
      "va_arg", "va_copy", "va_end", "va_start", "major",  "minor", "unix",   "linux"};
  return words;
}

std::string ResolveKeyword(const std::string& name) {
  return Keywords().count(name) ? name + "_" : name;
}

std::string ClassName(const pb::Descriptor* d) {
  // As protoc's C++ generator: the parent's C++ name, '_', this name, then
  // its keyword rule on the whole ("class" → "class_", "class.Inner" → "class__Inner").
  std::string name = d->containing_type() ? ClassName(d->containing_type()) + "_" : "";
  name += d->name();
  return ResolveKeyword(name);
}

std::string NamespaceOf(const std::string& package) {
  std::string out;
  for (char c : package) {
    if (c == '.') {
      out += "::";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// "foo/bar.proto" → "foo/bar" (protoc's StripProto).
std::string StripProto(const std::string& name) {
  for (std::string_view suffix : {".protodevel", ".proto"}) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}

// protoc's FilenameIdentifier: names the file's descriptor table.
std::string FilenameIdentifier(const std::string& filename) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : filename) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('_');
      if (c >= 16) out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Proto comments as C++ line comments. Nothing in them may end a line with a
// backslash (that would splice the next generated line into the comment).
template <typename D>
std::string Comments(const D* d, const std::string& indent) {
  pb::SourceLocation loc;
  if (!d->GetSourceLocation(&loc)) return "";
  const std::string& text = loc.leading_comments;
  if (text.empty()) return "";
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    while (!line.empty() && (line.back() == '\\' || line.back() == ' ' || line.back() == '\t' ||
                             line.back() == '\r')) {
      line.pop_back();
    }
    out += indent + "//" + line + "\n";
    start = nl + 1;
  }
  return out;
}

struct MethodInfo {
  const pb::MethodDescriptor* descriptor;
  std::string name;     // C++ member name
  std::string invoker;  // free function in the .cc
  Vars vars;
};

struct ServiceInfo {
  const pb::ServiceDescriptor* descriptor;
  int index;
  std::string name;  // C++ struct name
  std::vector<MethodInfo> methods;
  Vars vars;
};

const char* KindName(const pb::MethodDescriptor* m) {
  if (m->client_streaming() && m->server_streaming()) return "bidi_streaming";
  if (m->client_streaming()) return "client_streaming";
  if (m->server_streaming()) return "server_streaming";
  return "unary";
}

std::vector<ServiceInfo> Collect(const pb::FileDescriptor* file) {
  std::vector<ServiceInfo> services;
  std::set<std::string> invokers;
  const std::string ns = QualifiedNamespace(file);
  for (int i = 0; i < file->service_count(); ++i) {
    const pb::ServiceDescriptor* sd = file->service(i);
    ServiceInfo s{sd, i, SafeIdentifier(sd->name()), {}, {}};
    // The struct holds `Service`, `Client` and `kServiceName`.
    while (s.name == "Service" || s.name == "Client" || s.name == "kServiceName") s.name += "_";
    s.vars = {{"service", s.name},
              {"full_name", sd->full_name()},
              // For declarators (a leading "::" would bind to the return type).
              {"qualified", ns.empty() ? s.name : ns.substr(2) + "::" + s.name},
              {"absolute", ns + "::" + s.name},
              {"index", std::to_string(i)}};
    // Names a member may not take: the classes' own names, what the base
    // class declares, the client's member, and any name taken before it.
    std::set<std::string> taken = {"Service", "Client", "descriptor", "methods", "channel_"};
    for (int j = 0; j < sd->method_count(); ++j) {
      const pb::MethodDescriptor* md = sd->method(j);
      MethodInfo m{md, SafeIdentifier(md->name()), "", {}};
      while (taken.count(m.name)) m.name += "_";
      taken.insert(m.name);
      m.invoker = s.name + "_" + m.name;
      while (invokers.count(m.invoker)) m.invoker += "_";
      invokers.insert(m.invoker);
      m.vars = s.vars;
      m.vars["method"] = m.name;
      m.vars["proto_method"] = md->name();
      m.vars["invoker"] = m.invoker;
      m.vars["index"] = std::to_string(j);
      m.vars["kind"] = KindName(md);
      m.vars["Req"] = QualifiedClassName(md->input_type());
      m.vars["Resp"] = QualifiedClassName(md->output_type());
      s.methods.push_back(std::move(m));
    }
    services.push_back(std::move(s));
  }
  return services;
}

std::string Header(const pb::FileDescriptor* file, const std::vector<ServiceInfo>& services) {
  const std::string base = StripProto(file->name());
  const std::string ns = QualifiedNamespace(file);
  Vars fv = {{"proto", file->name()}, {"base", base}, {"ns", ns.empty() ? "" : ns.substr(2)}};
  std::string out =
      Sub("// Generated by protoc-gen-trident from $proto$. DO NOT EDIT.\n"
          "#pragma once\n"
          "\n"
          "#include <string_view>\n"
          "#include <vector>\n"
          "\n"
          "#include \"$base$.pb.h\"\n"
          "#include \"core/task.hpp\"\n"
          "#include \"rpc/channel.hpp\"\n"
          "#include \"rpc/context.hpp\"\n"
          "#include \"rpc/service.hpp\"\n"
          "#include \"rpc/stream.hpp\"\n",
          fv);
  if (services.empty()) return out;
  out += "\n";
  if (!ns.empty()) out += Sub("namespace $ns$ {\n\n", fv);
  for (const ServiceInfo& s : services) {
    out += Comments(s.descriptor, "");
    out +=
        Sub("struct $service$ {\n"
            "  static constexpr ::std::string_view kServiceName = \"$full_name$\";\n"
            "\n"
            "  // Derive from Service and override the methods you implement (the others\n"
            "  // fail with UNIMPLEMENTED), then register the object with a\n"
            "  // trident::rpc::ServiceRegistry. Handlers fail a call by throwing\n"
            "  // trident::rpc::Error.\n"
            "  class Service : public ::trident::rpc::Service {\n"
            "   public:\n",
            s.vars);
    for (const MethodInfo& m : s.methods) {
      out += Comments(m.descriptor, "    ");
      const pb::MethodDescriptor* md = m.descriptor;
      if (md->client_streaming() && md->server_streaming()) {
        out += Sub(
            "    virtual ::trident::Task<void> $method$(::trident::rpc::Context& ctx,\n"
            "        ::trident::rpc::Reader<$Req$>& in, ::trident::rpc::Writer<$Resp$>& out);\n",
            m.vars);
      } else if (md->client_streaming()) {
        out +=
            Sub("    virtual ::trident::Task<$Resp$> $method$(::trident::rpc::Context& ctx,\n"
                "        ::trident::rpc::Reader<$Req$>& in);\n",
                m.vars);
      } else if (md->server_streaming()) {
        out +=
            Sub("    virtual ::trident::Task<void> $method$(::trident::rpc::Context& ctx,\n"
                "        const $Req$& request, ::trident::rpc::Writer<$Resp$>& out);\n",
                m.vars);
      } else {
        out +=
            Sub("    virtual ::trident::Task<$Resp$> $method$(::trident::rpc::Context& ctx,\n"
                "        const $Req$& request);\n",
                m.vars);
      }
    }
    out +=
        Sub("\n"
            "    // $descriptor_doc$\n"
            "    const ::google::protobuf::ServiceDescriptor* descriptor() const override;\n"
            "    // One entry per method: \"/$full_name$/<Method>\", its kind, descriptor and "
            "invoker.\n"
            "    ::std::vector<::trident::rpc::Method> methods() override;\n"
            "  };\n"
            "\n"
            "  // Typed calls over a trident::rpc::Channel. The channel, and a request\n"
            "  // passed by reference, must outlive the returned task or stream.\n"
            "  class Client {\n"
            "   public:\n"
            "    explicit Client(::trident::rpc::Channel& channel) : channel_(channel) {}\n"
            "\n",
            [&] {
              Vars v = s.vars;
              v["descriptor_doc"] =
                  file->options().optimize_for() == pb::FileOptions::LITE_RUNTIME
                      ? "Null: the file is optimized for LITE_RUNTIME (no descriptors)."
                      : s.descriptor->full_name() + " in the generated descriptor pool.";
              return v;
            }());
    for (const MethodInfo& m : s.methods) {
      out += Comments(m.descriptor, "    ");
      const pb::MethodDescriptor* md = m.descriptor;
      if (md->client_streaming()) {
        // Client streaming and bidi: the caller writes, half-closes and reads.
        out +=
            Sub("    ::trident::rpc::ClientStream<$Req$, $Resp$> $method$(\n"
                "        ::trident::rpc::CallOptions options = {});\n",
                m.vars);
      } else if (md->server_streaming()) {
        // The request is written and the call half-closed; read the responses.
        out +=
            Sub("    ::trident::Task<::trident::rpc::ClientStream<$Req$, $Resp$>> $method$(\n"
                "        const $Req$& request, ::trident::rpc::CallOptions options = {});\n",
                m.vars);
      } else {
        // A non-OK status is thrown as trident::rpc::Error.
        out +=
            Sub("    ::trident::Task<$Resp$> $method$(const $Req$& request,\n"
                "        ::trident::rpc::CallOptions options = {});\n",
                m.vars);
      }
    }
    out +=
        "\n"
        "   private:\n"
        "    ::trident::rpc::Channel& channel_;\n"
        "  };\n"
        "};\n"
        "\n";
  }
  if (!ns.empty()) out += Sub("}  // namespace $ns$\n", fv);
  return out;
}

// An expression for the file's FileDescriptor that also makes the linker
// keep the .pb.cc that registers it: the public descriptor() accessor of a
// message or enum defined in the file, else its descriptor table.
std::string FileDescriptorExpr(const pb::FileDescriptor* file) {
  if (file->message_type_count() > 0) {
    return QualifiedClassName(file->message_type(0)) + "::descriptor()->file()";
  }
  if (file->enum_type_count() > 0) {
    std::string ns = QualifiedNamespace(file);
    return ns + "::" + ResolveKeyword(file->enum_type(0)->name()) + "_descriptor()->file()";
  }
  return "(::google::protobuf::internal::AssignDescriptors(&::descriptor_table_" +
         FilenameIdentifier(file->name()) +
         "),\n"
         "          ::google::protobuf::DescriptorPool::generated_pool()->FindFileByName(\"" +
         file->name() + "\"))";
}

bool IsLite(const pb::FileDescriptor* file) {
  return file->options().optimize_for() == pb::FileOptions::LITE_RUNTIME;
}

std::string Source(const pb::FileDescriptor* file, const std::vector<ServiceInfo>& services) {
  const std::string base = StripProto(file->name());
  // LITE_RUNTIME files have no descriptors at run time: descriptor() and
  // Method::descriptor are null (the registry, health and reflection skip them).
  const bool lite = IsLite(file);
  Vars fv = {{"proto", file->name()}, {"base", base}};
  if (!lite) fv["file"] = FileDescriptorExpr(file);
  std::string out =
      Sub("// Generated by protoc-gen-trident from $proto$. DO NOT EDIT.\n"
          "#include \"$base$.trident.h\"\n",
          fv);
  if (services.empty()) return out;
  out +=
      Sub("\n"
          "#include <optional>\n"
          "#include <string>\n"
          "#include <utility>\n"
          "\n"
          "#include <google/protobuf/descriptor.h>\n"
          "\n"
          "#include \"rpc/error.hpp\"\n"
          "\n"
          "namespace {\n"
          "namespace trident_generated {\n",
          fv);
  if (!lite) {
    out +=
        Sub("\n"
            "const ::google::protobuf::FileDescriptor* File() {\n"
            "  static const ::google::protobuf::FileDescriptor* const file =\n"
            "      $file$;\n"
            "  return file;\n"
            "}\n",
            fv);
  }

  // Invokers: typed handler calls over the byte streams of rpc::Method.
  for (const ServiceInfo& s : services) {
    for (const MethodInfo& m : s.methods) {
      const pb::MethodDescriptor* md = m.descriptor;
      out +=
          Sub("\n"
              "// $full_name$/$proto_method$ ($kind$)\n"
              "::trident::Task<void> $invoker$($absolute$::Service& service,\n"
              "    ::trident::rpc::Context& ctx, ::trident::rpc::MessageReader& in,\n"
              "    ::trident::rpc::MessageWriter& out) {\n",
              m.vars);
      if (!md->client_streaming()) {
        // One request: read it and the end of the client's stream first.
        Vars v = m.vars;
        v["what"] = md->server_streaming() ? "a server-streaming" : "a unary";
        out +=
            Sub("  ::trident::rpc::Reader<$Req$> reader(in);\n"
                "  ::std::optional<$Req$> request = co_await reader.read();\n"
                "  if (!request) {\n"
                "    throw ::trident::rpc::Error(::trident::rpc::StatusCode::internal,\n"
                "                                \"missing request message\");\n"
                "  }\n"
                "  if (co_await in.read()) {\n"
                "    throw ::trident::rpc::Error(::trident::rpc::StatusCode::internal,\n"
                "        \"more than one request message for $what$ method\");\n"
                "  }\n",
                v);
      } else {
        out += Sub("  ::trident::rpc::Reader<$Req$> reader(in);\n", m.vars);
      }
      if (md->server_streaming()) {
        out +=
            Sub("  ::trident::rpc::Writer<$Resp$> writer(out);\n"
                "  co_await service.$method$(ctx, $arg$, writer);\n",
                [&] {
                  Vars v = m.vars;
                  v["arg"] = md->client_streaming() ? "reader" : "*request";
                  return v;
                }());
      } else {
        out +=
            Sub("  $Resp$ response = co_await service.$method$(ctx, $arg$);\n"
                "  co_await out.write(response.SerializeAsString());\n",
                [&] {
                  Vars v = m.vars;
                  v["arg"] = md->client_streaming() ? "reader" : "*request";
                  return v;
                }());
      }
      out += "}\n";
    }
  }
  out +=
      "\n"
      "}  // namespace trident_generated\n"
      "}  // namespace\n";

  for (const ServiceInfo& s : services) {
    if (lite) {
      out +=
          Sub("\n"
              "// $full_name$\n"
              "\n"
              "const ::google::protobuf::ServiceDescriptor* $qualified$::Service::descriptor() "
              "const {\n"
              "  return nullptr;  // optimize_for = LITE_RUNTIME: no descriptors\n"
              "}\n"
              "\n"
              "::std::vector<::trident::rpc::Method> $qualified$::Service::methods() {\n"
              "  ::std::vector<::trident::rpc::Method> methods;\n",
              s.vars);
    } else {
      out +=
          Sub("\n"
              "// $full_name$\n"
              "\n"
              "const ::google::protobuf::ServiceDescriptor* $qualified$::Service::descriptor() "
              "const {\n"
              "  static const ::google::protobuf::ServiceDescriptor* const service =\n"
              "      ::trident_generated::File()->service($index$);\n"
              "  return service;\n"
              "}\n"
              "\n"
              "::std::vector<::trident::rpc::Method> $qualified$::Service::methods() {\n"
              "  const ::google::protobuf::ServiceDescriptor* service = "
              "$absolute$::Service::descriptor();\n"
              "  ::std::vector<::trident::rpc::Method> methods;\n",
              s.vars);
    }
    out += Sub("  methods.reserve($n$);\n", {{"n", std::to_string(s.methods.size())}});
    for (const MethodInfo& m : s.methods) {
      out +=
          Sub("  {\n"
              "    ::trident::rpc::Method& method = methods.emplace_back();\n"
              "    method.path = \"/$full_name$/$proto_method$\";\n"
              "    method.kind = ::trident::rpc::MethodKind::$kind$;\n"
              "$set_descriptor$"
              "    method.invoke = [this](::trident::rpc::Context& ctx, "
              "::trident::rpc::MessageReader& in,\n"
              "                           ::trident::rpc::MessageWriter& out) {\n"
              "      return ::trident_generated::$invoker$(*this, ctx, in, out);\n"
              "    };\n"
              "  }\n",
              [&] {
                Vars v = m.vars;
                v["set_descriptor"] =
                    lite ? "" : Sub("    method.descriptor = service->method($index$);\n", v);
                return v;
              }());
    }
    out += "  return methods;\n}\n";

    // Default handlers: UNIMPLEMENTED.
    for (const MethodInfo& m : s.methods) {
      const pb::MethodDescriptor* md = m.descriptor;
      Vars v = m.vars;
      if (md->client_streaming() && md->server_streaming()) {
        v["ret"] = "void";
        v["params"] = "::trident::rpc::Context&, ::trident::rpc::Reader<" + v["Req"] +
                      ">&,\n    ::trident::rpc::Writer<" + v["Resp"] + ">&";
      } else if (md->client_streaming()) {
        v["ret"] = v["Resp"];
        v["params"] = "::trident::rpc::Context&, ::trident::rpc::Reader<" + v["Req"] + ">&";
      } else if (md->server_streaming()) {
        v["ret"] = "void";
        v["params"] = "::trident::rpc::Context&, const " + v["Req"] +
                      "&,\n    ::trident::rpc::Writer<" + v["Resp"] + ">&";
      } else {
        v["ret"] = v["Resp"];
        v["params"] = "::trident::rpc::Context&, const " + v["Req"] + "&";
      }
      v["co_return"] = v["ret"] == "void" ? "co_return;" : "co_return " + v["Resp"] + "();";
      out +=
          Sub("\n"
              "::trident::Task<$ret$> $qualified$::Service::$method$(\n"
              "    $params$) {\n"
              "  throw ::trident::rpc::Error(::trident::rpc::StatusCode::unimplemented,\n"
              "                              \"method $full_name$/$proto_method$ is not "
              "implemented\");\n"
              "  $co_return$\n"
              "}\n",
              v);
    }

    // Client stubs.
    for (const MethodInfo& m : s.methods) {
      const pb::MethodDescriptor* md = m.descriptor;
      if (md->client_streaming()) {
        out +=
            Sub("\n"
                "::trident::rpc::ClientStream<$Req$, $Resp$> $qualified$::Client::$method$(\n"
                "    ::trident::rpc::CallOptions options) {\n"
                "  return ::trident::rpc::ClientStream<$Req$, $Resp$>(\n"
                "      channel_.start(\"/$full_name$/$proto_method$\", options));\n"
                "}\n",
                m.vars);
      } else if (md->server_streaming()) {
        out +=
            Sub("\n"
                "::trident::Task<::trident::rpc::ClientStream<$Req$, $Resp$>>\n"
                "$qualified$::Client::$method$(const $Req$& request,\n"
                "    ::trident::rpc::CallOptions options) {\n"
                "  ::trident::rpc::ClientStream<$Req$, $Resp$> stream(\n"
                "      channel_.start(\"/$full_name$/$proto_method$\", options));\n"
                "  co_await stream.write(request);\n"
                "  co_await stream.writes_done();\n"
                "  co_return ::std::move(stream);\n"
                "}\n",
                m.vars);
      } else {
        // A coroutine itself, so that `options` lives as long as the call.
        out +=
            Sub("\n"
                "::trident::Task<$Resp$> $qualified$::Client::$method$(const $Req$& request,\n"
                "    ::trident::rpc::CallOptions options) {\n"
                "  co_return co_await ::trident::rpc::unary_call<$Req$, $Resp$>(\n"
                "      channel_, \"/$full_name$/$proto_method$\", request, options);\n"
                "}\n",
                m.vars);
      }
    }
  }
  return out;
}

bool Write(pb::compiler::GeneratorContext* context, const std::string& name,
           const std::string& content) {
  std::unique_ptr<pb::io::ZeroCopyOutputStream> stream(context->Open(name));
  pb::io::CodedOutputStream coded(stream.get());
  coded.WriteRaw(content.data(), static_cast<int>(content.size()));
  return !coded.HadError();
}

}  // namespace

std::string SafeIdentifier(const std::string& name) {
  std::string out = name;
  while (Keywords().count(out) || MacroNames().count(out)) out += "_";
  return out;
}

std::string QualifiedNamespace(const pb::FileDescriptor* file) {
  if (file->package().empty()) return "";
  return "::" + NamespaceOf(file->package());
}

std::string QualifiedClassName(const pb::Descriptor* message) {
  return QualifiedNamespace(message->file()) + "::" + ClassName(message);
}

bool Generator::Generate(const pb::FileDescriptor* file, const std::string& parameter,
                         pb::compiler::GeneratorContext* context, std::string* error) const {
  if (!parameter.empty()) {
    *error = "protoc-gen-trident takes no options (got \"" + parameter + "\")";
    return false;
  }
  if (file->service_count() > 0 && file->options().cc_generic_services()) {
    *error =
        "option cc_generic_services makes protoc's C++ generator emit a class per "
        "service, which clashes with trident's; remove the option";
    return false;
  }
  std::vector<ServiceInfo> services = Collect(file);
  const std::string base = StripProto(file->name());
  if (!Write(context, base + ".trident.h", Header(file, services)) ||
      !Write(context, base + ".trident.cc", Source(file, services))) {
    *error = "could not write the generated files for " + file->name();
    return false;
  }
  return true;
}

}  // namespace trident::codegen
