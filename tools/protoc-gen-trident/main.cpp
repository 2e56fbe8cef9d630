// protoc-gen-trident: protoc --plugin=protoc-gen-trident=<path> --trident_out=DIR x.proto
// writes DIR/x.trident.h and DIR/x.trident.cc next to protoc's x.pb.h / x.pb.cc.
#include <google/protobuf/compiler/plugin.h>

#include "generator.hpp"

int main(int argc, char* argv[]) {
  trident::codegen::Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
