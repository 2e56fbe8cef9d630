#include "rpc/reflection.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>
#include <string>

namespace trident::rpc {
namespace {

namespace pb = ::google::protobuf;

// Appends `file` and, depth first, the dependencies not sent yet on this
// stream (clients ask for what they still miss).
template <typename FileResponse>
void add_file(const pb::FileDescriptor* file, std::set<std::string>& sent, FileResponse& out) {
  if (!file || !sent.insert(file->name()).second) return;
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  out.add_file_descriptor_proto(proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i) add_file(file->dependency(i), sent, out);
}

template <typename Request, typename Response>
Response answer(const ServiceRegistry& registry, const Request& req, std::set<std::string>& sent) {
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  Response r;
  r.set_valid_host(req.host());
  *r.mutable_original_request() = req;
  auto not_found = [&](const std::string& what) {
    auto* e = r.mutable_error_response();
    e->set_error_code(static_cast<int>(StatusCode::not_found));
    e->set_error_message(what + " not found");
  };
  switch (req.message_request_case()) {
    case Request::kListServices: {
      auto* list = r.mutable_list_services_response();
      for (const auto* s : registry.services()) list->add_service()->set_name(s->full_name());
      break;
    }
    case Request::kFileByFilename: {
      const auto* f = pool->FindFileByName(req.file_by_filename());
      if (!f) {
        not_found("file " + req.file_by_filename());
        break;
      }
      add_file(f, sent, *r.mutable_file_descriptor_response());
      break;
    }
    case Request::kFileContainingSymbol: {
      const auto* f = pool->FindFileContainingSymbol(req.file_containing_symbol());
      if (!f) {
        not_found("symbol " + req.file_containing_symbol());
        break;
      }
      // The file is always sent in full for a symbol lookup, even if sent before.
      sent.erase(f->name());
      add_file(f, sent, *r.mutable_file_descriptor_response());
      break;
    }
    case Request::kFileContainingExtension: {
      const auto& ext = req.file_containing_extension();
      const auto* type = pool->FindMessageTypeByName(ext.containing_type());
      const auto* field =
          type ? pool->FindExtensionByNumber(type, ext.extension_number()) : nullptr;
      if (!field) {
        not_found("extension " + std::to_string(ext.extension_number()) + " of " +
                  ext.containing_type());
        break;
      }
      add_file(field->file(), sent, *r.mutable_file_descriptor_response());
      break;
    }
    case Request::kAllExtensionNumbersOfType: {
      const auto* type = pool->FindMessageTypeByName(req.all_extension_numbers_of_type());
      if (!type) {
        not_found("type " + req.all_extension_numbers_of_type());
        break;
      }
      std::vector<const pb::FieldDescriptor*> fields;
      pool->FindAllExtensions(type, &fields);
      auto* numbers = r.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const auto* f : fields) numbers->add_extension_number(f->number());
      break;
    }
    default: {
      auto* e = r.mutable_error_response();
      e->set_error_code(static_cast<int>(StatusCode::invalid_argument));
      e->set_error_message("empty or unknown reflection request");
      break;
    }
  }
  return r;
}

template <typename Request, typename Response>
Task<void> serve(const ServiceRegistry& registry, Reader<Request>& in, Writer<Response>& out) {
  std::set<std::string> sent;
  while (auto req = co_await in.read()) {
    co_await out.write(answer<Request, Response>(registry, *req, sent));
  }
}

}  // namespace

Task<void> ReflectionV1::ServerReflectionInfo(
    Context&, Reader<::grpc::reflection::v1::ServerReflectionRequest>& in,
    Writer<::grpc::reflection::v1::ServerReflectionResponse>& out) {
  return serve(registry_, in, out);
}

Task<void> ReflectionV1Alpha::ServerReflectionInfo(
    Context&, Reader<::grpc::reflection::v1alpha::ServerReflectionRequest>& in,
    Writer<::grpc::reflection::v1alpha::ServerReflectionResponse>& out) {
  return serve(registry_, in, out);
}

}  // namespace trident::rpc
