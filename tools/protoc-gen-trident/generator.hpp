// protoc-gen-trident: generates, for every service of a .proto file, a C++
// base class with one coroutine per method (derive from it to implement the
// service) and a typed client stub, on trident's protocol-neutral RPC core
// (src/rpc/service.hpp, src/rpc/channel.hpp). See README.md in this folder.
#pragma once

#include <string>

#include <google/protobuf/compiler/code_generator.h>
#include <google/protobuf/descriptor.h>

namespace trident::codegen {

class Generator final : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;
  uint64_t GetSupportedFeatures() const override { return FEATURE_PROTO3_OPTIONAL; }
};

// Naming, exposed for the generator's own use and for tests.

// A name for C++ code: a C++ keyword (or a macro-like name such as `assert`)
// gets a trailing underscore.
std::string SafeIdentifier(const std::string& name);
// The C++ class protoc's C++ generator emits for `message`, fully qualified:
// "::pkg::sub::Outer_Inner".
std::string QualifiedClassName(const google::protobuf::Descriptor* message);
// "::pkg::sub" for package "pkg.sub"; "" without a package.
std::string QualifiedNamespace(const google::protobuf::FileDescriptor* file);

}  // namespace trident::codegen
